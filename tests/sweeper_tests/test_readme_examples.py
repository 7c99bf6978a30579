"""The README's examples run as a user pastes them: its fenced blocks are read from the README
itself, never copied into the test, so an example that stops working fails here.

"Your own objective" is run end to end with the installed `sweeper` script from a folder that
holds only `my_models/` and the data this test makes (no PYTHONPATH); the study-file examples
are validated as study files.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import torch
import yaml
from torch_geometric.data import Data

from sweeper.config import load_config, parse_config
from tests.conftest import REPO, cli_env

README = REPO / "README.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
SWEEPER = Path(sys.executable).parent / "sweeper"


def fenced_blocks(section: str) -> list[tuple[str, str]]:
    """(language, text) of every fenced block under the README heading `section`."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    return _FENCE.findall(text[start : end if end != -1 else None])


def named_file(block: str) -> str | None:
    """The path a block's first line names (`# my_models/sweep.py  -> ...`), if any."""
    first = block.splitlines()[0]
    match = re.match(r"#\s*([\w./-]+\.(?:py|ya?ml))\b", first)
    return match.group(1) if match else None


def make_node_classification_graph(path: Path, *, num_nodes: int = 120) -> None:
    """A small graph of 3 classes whose features and edges follow the class (so a GCN learns)."""
    generator = torch.Generator().manual_seed(0)
    y = torch.arange(num_nodes) % 3
    x = torch.nn.functional.one_hot(y, 3).float() + 0.8 * torch.randn(
        num_nodes, 3, generator=generator
    )
    x = torch.cat([x, torch.randn(num_nodes, 5, generator=generator)], dim=1)
    src = torch.randint(0, num_nodes, (num_nodes * 4,), generator=generator)
    dst = (src + 3 * torch.randint(1, num_nodes // 3, src.shape, generator=generator)) % num_nodes
    edge_index = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1)
    order = torch.randperm(num_nodes, generator=generator)
    train_mask = torch.zeros(num_nodes, dtype=torch.bool)
    val_mask = torch.zeros(num_nodes, dtype=torch.bool)
    train_mask[order[: num_nodes // 2]] = True
    val_mask[order[num_nodes // 2 :]] = True
    data = Data(x=x, y=y, edge_index=edge_index, train_mask=train_mask, val_mask=val_mask)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, path)


def test_the_own_objective_example_runs_verbatim_from_the_folder_that_holds_it(
    tmp_path: Path,
) -> None:
    blocks = fenced_blocks("Your own objective")
    written = []
    for language, text in blocks:
        name = named_file(text)
        if language in ("python", "yaml") and name is not None:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text, encoding="utf-8")
            written.append(name)
    assert written == ["my_models/sweep.py", "my_models/sweep.yaml"]
    study = yaml.safe_load((tmp_path / "my_models/sweep.yaml").read_text())
    make_node_classification_graph(tmp_path / study["params"]["data_path"])
    commands = [
        line.split("#", 1)[0].strip()
        for language, text in blocks
        if language == "bash"
        for line in text.splitlines()
        if line.startswith("sweeper ")
    ]
    assert commands, "the section shows no command to run"
    env = cli_env(SWEEPER_STORAGE=f"sqlite:///{tmp_path / 'sweeps.db'}")
    env.pop("PYTHONPATH", None)  # the current directory alone must make my_models importable
    for command in commands:
        argv = [str(SWEEPER), *shlex.split(command)[1:]]
        result = subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, (command, result.stdout, result.stderr)

    status = subprocess.run(
        [str(SWEEPER), "status", "--study", study["study"], "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert status.returncode == 0, status.stderr
    summary = json.loads(status.stdout)
    counts = summary["counts"]
    assert counts["COMPLETE"] + counts["PRUNED"] == study["n_trials"]
    assert counts["FAIL"] == 0, summary
    assert counts["COMPLETE"] >= 1 and summary["best"]["value"] > 0.34  # better than chance


def test_the_study_file_examples_are_valid_study_files(tmp_path: Path) -> None:
    (language, text), *_ = fenced_blocks("The study file")
    assert language == "yaml"
    path = tmp_path / "study.yaml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    assert config.study == "quickstart" and config.n_trials == 12


def test_the_health_rules_example_is_a_valid_pruner_section() -> None:
    (language, text), *_ = [b for b in fenced_blocks("Health pruning") if b[0] == "yaml"]
    base = yaml.safe_load(next(b for lang, b in fenced_blocks("The study file") if lang == "yaml"))
    config = parse_config({**base, **yaml.safe_load(text)})
    assert config.pruner.health is not None
    assert config.pruner.name == "median"
