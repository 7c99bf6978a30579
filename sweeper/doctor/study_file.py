"""The narrowed study file: the original one (as stored in the study) under a new name, with the
narrowed space and a YAML comment above each changed parameter giving its evidence.

Queued trials (`enqueue`) are dropped: they ran in the original study. The result is validated
as any study file is before it is written, so `sweeper launch narrowed.yaml` runs it as is.
"""

from __future__ import annotations

from typing import Any

import yaml

from sweeper.config import STUDY_NAME, StudyConfig, parse_config
from sweeper.doctor.conditions import SearchParam
from sweeper.doctor.narrowing import Change

SUFFIX = "-narrowed"


def narrowed_name(study: str) -> str:
    """`NAME-narrowed`, shortened so it stays a valid study name (128 characters at most)."""
    name = study[: 128 - len(SUFFIX)] + SUFFIX
    assert STUDY_NAME.match(name)
    return name


def narrowed_data(config: StudyConfig, space: dict[str, SearchParam]) -> dict[str, Any]:
    """The narrowed study file as a validated mapping."""
    data = config.stored()
    data.update(
        study=narrowed_name(config.study),
        space={n: spec.model_dump(mode="json", exclude_defaults=True) for n, spec in space.items()},
        enqueue=[],
    )
    parse_config(data)
    return data


def _flow(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False).strip()


def narrowed_yaml(
    config: StudyConfig, space: dict[str, SearchParam], changes: list[Change], header: list[str]
) -> str:
    """The narrowed study file's text: header comments, the file, the space with its comments."""
    data = narrowed_data(config, space)
    comments = {change.param: change.comment() for change in changes}
    lines = [f"# {line}" for line in header]
    rest = {k: v for k, v in data.items() if k not in ("space", "enqueue")}
    lines.append(yaml.safe_dump(rest, sort_keys=False, width=100).rstrip())
    lines.append("space:")
    for name, spec in data["space"].items():
        if name in comments:
            lines.append(f"  # {comments[name]}")
        lines.append(f"  {name}: {_flow(spec)}")
    if config.enqueue:
        lines.append(
            f"# doctor: enqueue dropped (its {len(config.enqueue)} trials ran in {config.study})"
        )
    lines.append("enqueue: []")
    return "\n".join(lines) + "\n"
