"""Pre-flight: `launch` and `create` ask the objective whether it can start before anything is
written. A missing dataset or optional package is one line and exit code 2, in seconds and
without waiting on the network; Planetoid files in PyG's own layout are found and used."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import cli_env, run_cli
from tests.objectives_tests.link_prediction_files import write_tiny_planetoid


def _link_study(path: Path, dataset: str, data_root: Path) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "study": "lp",
                "objective": "link_prediction",
                "direction": "maximize",
                "metric": "hits@20",
                "n_trials": 1,
                "pruner": {"name": "none"},
                "params": {
                    "dataset": dataset,
                    "data_root": str(data_root),
                    "epochs": 2,
                    "hidden_channels": 16,
                },
            }
        )
    )
    return path


def _assert_refused(result: subprocess.CompletedProcess[str], db: Path, expected: str) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), result.stderr
    assert not db.exists(), "nothing may be written when the pre-flight fails"
    return lines[0]


@pytest.mark.parametrize("command", ["launch", "create"])
def test_a_missing_planetoid_dataset_offline_is_one_line_naming_the_folders_in_seconds(
    command: str, tmp_path: Path
) -> None:
    db = tmp_path / "s.db"
    study_file = _link_study(tmp_path / "s.yaml", "planetoid:Cora", tmp_path / "data")
    start = time.monotonic()
    result = run_cli(
        command, str(study_file), "--storage", f"sqlite:///{db}",
        env=cli_env(SWEEPER_OFFLINE="1"),
    )  # fmt: skip
    seconds = time.monotonic() - start
    line = _assert_refused(result, db, "error: dataset: planetoid:Cora is not in ")
    assert f"{tmp_path / 'data' / 'Cora' / 'raw'}" in line
    assert f"{tmp_path / 'data' / 'planetoid' / 'Cora' / 'raw'}" in line
    assert seconds < 30, f"{seconds:.0f} s"
    print(f"\n[pre-flight] {command}: exit 2 in {seconds:.1f} s: {line}")


def test_without_network_a_missing_dataset_fails_fast_without_being_told_it_is_offline(
    tmp_path: Path,
) -> None:
    """The machine's real network: skipped where github.com answers (CI with internet)."""
    from objectives.link_prediction.datasets import PLANETOID_HOST, require_network
    from sweeper.errors import SweeperError

    try:
        require_network(PLANETOID_HOST, "probe")
        pytest.skip(f"{PLANETOID_HOST} is reachable: the dataset would be downloaded")
    except SweeperError:
        pass
    db = tmp_path / "s.db"
    study_file = _link_study(tmp_path / "s.yaml", "planetoid:CiteSeer", tmp_path)
    start = time.monotonic()
    result = run_cli("launch", str(study_file), "--storage", f"sqlite:///{db}")
    line = _assert_refused(result, db, "error: dataset: planetoid:CiteSeer is not in ")
    assert line.endswith("github.com cannot be reached to download it (offline?)"), line
    assert time.monotonic() - start < 30


def test_an_ogb_dataset_without_the_ogb_package_is_one_line_naming_the_extra(
    tmp_path: Path,
) -> None:
    """`ogb` made unimportable for the CLI process alone, as on an install without the extra."""
    shadow = tmp_path / "no_ogb" / "ogb"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'ogb'\", name='ogb')\n"
    )
    db = tmp_path / "s.db"
    study_file = _link_study(tmp_path / "s.yaml", "ogbl-ddi", tmp_path / "data")
    result = run_cli(
        "launch", str(study_file), "--storage", f"sqlite:///{db}", "--workers", "2",
        env=cli_env(PYTHONPATH=str(shadow.parent)),
    )  # fmt: skip
    _assert_refused(
        result,
        db,
        "error: dataset: ogbl-ddi needs the ogb package; install the extra: "
        "pip install 'gnn-sweeper[ogb]'",
    )


def test_a_missing_causal_csv_is_one_line_at_create(tmp_path: Path) -> None:
    study = {
        "study": "causal",
        "objective": "causal_dag",
        "direction": "minimize",
        "metric": "shd",
        "n_trials": 1,
        "params": {"dataset": "csv:expression.csv", "data_root": str(tmp_path)},
    }
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(study))
    db = tmp_path / "s.db"
    result = run_cli("create", str(tmp_path / "s.yaml"), "--storage", f"sqlite:///{db}")
    _assert_refused(
        result,
        db,
        f"error: dataset: csv:expression.csv: dataset file not found: "
        f"{tmp_path / 'expression.csv'}",
    )


def test_a_searched_dataset_is_checked_for_every_choice(tmp_path: Path) -> None:
    write_tiny_planetoid(tmp_path / "data", "Cora")
    study_file = _link_study(tmp_path / "s.yaml", "planetoid:Cora", tmp_path / "data")
    study = yaml.safe_load(study_file.read_text())
    del study["params"]["dataset"]
    study["space"] = {
        "dataset": {"type": "categorical", "choices": ["planetoid:Cora", "planetoid:PubMed"]}
    }
    study_file.write_text(yaml.safe_dump(study))
    db = tmp_path / "s.db"
    result = run_cli(
        "create", str(study_file), "--storage", f"sqlite:///{db}",
        env=cli_env(SWEEPER_OFFLINE="1"),
    )  # fmt: skip
    _assert_refused(result, db, "error: dataset: planetoid:PubMed is not in ")


def test_a_users_preflight_hook_that_raises_anything_is_one_line(tmp_path: Path) -> None:
    study = {
        "study": "user",
        "objective": "tests.sweeper_tests.user_objectives:with_a_failing_preflight",
        "direction": "minimize",
        "metric": "loss",
        "n_trials": 1,
        "space": {"x": {"type": "float", "low": -1.0, "high": 1.0}},
    }
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(study))
    db = tmp_path / "s.db"
    result = run_cli("launch", str(tmp_path / "s.yaml"), "--storage", f"sqlite:///{db}")
    _assert_refused(
        result,
        db,
        "error: objective: tests.sweeper_tests.user_objectives:with_a_failing_preflight "
        "cannot start: FileNotFoundError: no GPU driver at x=-1.0",
    )


def test_planetoid_files_in_pygs_own_layout_pass_the_preflight_and_train(tmp_path: Path) -> None:
    write_tiny_planetoid(tmp_path / "data", "Cora")  # data/Cora/raw: what Planetoid(root) writes
    url = f"sqlite:///{tmp_path / 's.db'}"
    study_file = _link_study(tmp_path / "s.yaml", "planetoid:Cora", tmp_path / "data")
    launched = run_cli(
        "launch", str(study_file), "--storage", url, env=cli_env(SWEEPER_OFFLINE="1")
    )
    assert launched.returncode == 0, (launched.stdout, launched.stderr)
    status = json.loads(run_cli("status", "--study", "lp", "--storage", url, "--json").stdout)
    assert status["counts"]["COMPLETE"] == 1, status["counts"]
