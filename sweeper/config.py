"""The study file: a YAML document validated with pydantic, stored inside the study it creates.

Every validation error is turned into one line naming the field path, e.g.
`space -> lr -> low: must be > 0 for a log scale (got -1.0)`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sweeper.errors import SweeperError, did_you_mean
from sweeper.health.config import HealthConfig
from sweeper.registry import PRUNERS, SAMPLERS

STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_TRIALS = 1_000_000
MAX_FILE_BYTES = 1_000_000
#: Fields that set the budget of a run rather than what a trial is; they may change on resume.
BUDGET_FIELDS = ("n_trials", "timeout", "failures")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class FloatParam(_Strict):
    """A float sampled from [low, high], optionally on a log scale or a step grid."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check_bounds(self) -> FloatParam:
        if self.low > self.high:
            raise ValueError(f"low must be <= high (got low={self.low}, high={self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"low must be > 0 for a log scale (got {self.low})")
        if self.log and self.step is not None:
            raise ValueError("step and log cannot be used together")
        return self


class IntParam(_Strict):
    """An integer sampled from [low, high], optionally on a log scale or with a step."""

    type: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _check_bounds(self) -> IntParam:
        if self.low > self.high:
            raise ValueError(f"low must be <= high (got low={self.low}, high={self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"low must be > 0 for a log scale (got {self.low})")
        if self.log and self.step != 1:
            raise ValueError("step and log cannot be used together")
        return self


Choice = bool | int | float | str | None


class CategoricalParam(_Strict):
    """One of a list of choices."""

    type: Literal["categorical"]
    choices: list[Choice] = Field(min_length=1, max_length=10_000)


SearchParam = Annotated[FloatParam | IntParam | CategoricalParam, Field(discriminator="type")]


class SamplerConfig(_Strict):
    """Which Optuna sampler proposes parameters; stored so a resumed study keeps it."""

    name: Literal[tuple(SAMPLERS)] = "tpe"  # type: ignore[valid-type]
    seed: int | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class PrunerConfig(_Strict):
    """The base pruner with its arguments, wrapped by the health rules unless `health` is null."""

    name: Literal[tuple(PRUNERS)] = "median"  # type: ignore[valid-type]
    args: dict[str, Any] = Field(default_factory=dict)
    health: HealthConfig | None = Field(default_factory=HealthConfig)


class HeartbeatConfig(_Strict):
    """How often a worker proves it is alive and how soon a silent worker's trial is retried."""

    interval: int = Field(default=10, ge=1, le=3600)
    grace_period: int = Field(default=30, ge=2, le=86_400)
    max_retry: int = Field(default=3, ge=0, le=100)
    #: Seconds a worker waits out an unreachable storage before it gives up (exit code 3).
    storage_outage: int = Field(default=120, ge=1, le=86_400)

    @model_validator(mode="after")
    def _grace_exceeds_interval(self) -> HeartbeatConfig:
        if self.grace_period <= self.interval:
            raise ValueError(
                f"grace_period must be > interval (got grace_period={self.grace_period}, "
                f"interval={self.interval})"
            )
        return self


class FailureBudget(_Strict):
    """How many failed trials a study takes before every worker stops (`null`: no bound).

    Only trials whose objective failed count; a resume starts a fresh budget."""

    max_consecutive: int | None = Field(default=5, ge=1, le=MAX_TRIALS)
    max_total: int | None = Field(default=None, ge=1, le=MAX_TRIALS)


class CheckpointConfig(_Strict):
    """Trial checkpoints (`ctx.checkpoint` / `ctx.restore`): kept after a trial ends, or not."""

    #: Keep every trial's last checkpoint after it finishes (default: deleted, only a trial
    #: that was interrupted keeps one, for its retry).
    keep: bool = False


class StudyConfig(_Strict):
    """A whole study file: what to train, what to search, how to prune, how to recover."""

    study: str
    objective: str = Field(min_length=1, max_length=300)
    direction: Literal["maximize", "minimize"]
    metric: str = Field(min_length=1, max_length=100)
    n_trials: int = Field(ge=1, le=MAX_TRIALS)
    timeout: float | None = Field(default=None, gt=0, le=365 * 86_400)
    sampler: SamplerConfig = Field(default_factory=SamplerConfig)
    pruner: PrunerConfig = Field(default_factory=PrunerConfig)
    params: dict[str, Any] = Field(default_factory=dict)
    space: dict[str, SearchParam] = Field(default_factory=dict)
    heartbeat: HeartbeatConfig = Field(default_factory=HeartbeatConfig)
    failures: FailureBudget = Field(default_factory=FailureBudget)
    artifacts: str | None = None
    checkpoints: CheckpointConfig = Field(default_factory=CheckpointConfig)
    #: Parameter sets to run first, queued once when the study is created (like `--enqueue`).
    enqueue: list[dict[str, Any]] = Field(default_factory=list, max_length=10_000)

    @field_validator("study")
    @classmethod
    def _study_name(cls, value: str) -> str:
        if not STUDY_NAME.match(value):
            raise ValueError(
                "must be 1-128 letters, digits, '.', '_' or '-' and start with a letter or digit"
            )
        return value

    @field_validator("sampler", mode="before")
    @classmethod
    def _sampler_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("pruner", mode="before")
    @classmethod
    def _pruner_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("params")
    @classmethod
    def _finite_params(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, item in value.items():
            if isinstance(item, float) and not math.isfinite(item):
                raise ValueError(f"{key} must be finite (got {item})")
        return value

    @model_validator(mode="after")
    def _params_and_space_disjoint(self) -> StudyConfig:
        both = sorted(set(self.params) & set(self.space))
        if both:
            raise ValueError(f"'{both[0]}' is both a fixed param and in space; keep one")
        if SAMPLERS[self.sampler.name].grid and any(
            not isinstance(p, CategoricalParam) and p.step is None and isinstance(p, FloatParam)
            for p in self.space.values()
        ):
            raise ValueError("the grid sampler needs categorical parameters or floats with a step")
        return self

    def stored(self) -> dict[str, Any]:
        """The JSON-safe form kept inside the study, from which any worker rebuilds it."""
        return self.model_dump(mode="json")


class _YamlLoader(yaml.SafeLoader):
    """A safe loader that also reads `1e-4` as a float (YAML 1.1 wants `1.0e-4`) and refuses a
    key written twice in one mapping (plain YAML keeps the last one silently, so a second
    `health:` would quietly undo the first)."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if isinstance(key, str | int | float | bool) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key '{key}'", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _refuse_aliases(text: str) -> None:
    """Refuse YAML anchors/aliases outright: a study file never needs them, and they allow
    'billion laughs' bombs."""
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise SweeperError("study file: YAML aliases (*name) are not allowed")


def format_validation_error(error: ValidationError) -> str:
    """One line naming the first failing field path and what is wrong with it."""
    first = error.errors()[0]
    loc = list(first["loc"])
    if len(loc) > 2 and loc[0] == "space" and loc[2] in ("float", "int", "categorical"):
        del loc[2]  # the discriminator tag pydantic adds; the user never wrote it
    path = " -> ".join(str(part) for part in loc)
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field" + did_you_mean(str(loc[-1]), _fields_at(loc[:-1]))
    elif first["type"] == "missing":
        message = "required field is missing"
    shown = first.get("input")
    got = ""
    if first["type"] not in ("missing", "extra_forbidden", "value_error") and not isinstance(
        shown, dict | list
    ):
        got = f" (got {shown!r})"
    return f"{path or 'study file'}: {message}{got}"


def _fields_at(loc: list[Any]) -> list[str]:
    """The field names the study file allows at a location (for "did you mean")."""
    if not loc:
        return list(StudyConfig.model_fields)
    sections: dict[str, type[BaseModel]] = {
        "sampler": SamplerConfig,
        "pruner": PrunerConfig,
        "heartbeat": HeartbeatConfig,
    }
    if len(loc) == 1 and loc[0] in sections:
        return list(sections[str(loc[0])].model_fields)
    if len(loc) == 2 and loc[0] == "space":
        return sorted({*FloatParam.model_fields, *IntParam.model_fields, "choices"})
    return []


def parse_config(data: Any) -> StudyConfig:
    """Validate a mapping as a study file; raise SweeperError with one line on failure."""
    if not isinstance(data, dict):
        raise SweeperError("study file: must be a mapping of fields (study, objective, ...)")
    try:
        return StudyConfig.model_validate(data)
    except ValidationError as error:
        raise SweeperError(format_validation_error(error)) from None


def load_config(path: str | Path) -> StudyConfig:
    """Read and validate a study file from disk with a safe YAML loader."""
    path = Path(path)
    if not path.is_file():
        raise SweeperError(f"study file: {path} does not exist or is not a file")
    raw = path.read_bytes()
    if len(raw) > MAX_FILE_BYTES:
        raise SweeperError(f"study file: {path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SweeperError(f"study file: {path} is not UTF-8 text") from None
    try:
        _refuse_aliases(text)
        data = yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise SweeperError(f"study file: {path}: {problem}{where}") from None
    return parse_config(data)


def first_difference(stored: Any, given: Any, path: str = "") -> str | None:
    """The dotted path of the first field where two stored study files differ, or None."""
    if isinstance(stored, dict) and isinstance(given, dict):
        for key in list(stored) + [k for k in given if k not in stored]:
            if path == "" and key in BUDGET_FIELDS:
                continue
            child = f"{path}.{key}" if path else str(key)
            if key not in stored or key not in given:
                return child
            found = first_difference(stored[key], given[key], child)
            if found is not None:
                return found
        return None
    return None if stored == given else (path or "study file")
