"""CLI conventions a user expects: the study name positionally, `--version`, a `list` that never
cuts a name, errors that name the storage and the closest name, a small `status --json`, and
`--help` without `<bool>` noise."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import pytest

from tests.conftest import cli_env, run_cli, start_cli
from tests.sweeper_tests import fault_support

LONG_NAME = "link-prediction-gcn-structural-ablation-2026-11"


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file holding a finished 2-trial study `toy` and a study with a long name."""
    folder = tmp_path_factory.mktemp("conventions")
    url = f"sqlite:///{folder / 'sweeps.db'}"
    for name in ("toy", LONG_NAME):
        study_file = fault_support.write_study(folder / f"{name}.yaml", name=name, n_trials=2)
        launched = run_cli("launch", str(study_file), "--storage", url)
        assert launched.returncode == 0, launched.stderr
    return url


def test_status_best_report_and_delete_take_the_study_name_positionally(
    finished_study: str, tmp_path: Path
) -> None:
    url = finished_study
    for command in (("status",), ("best",), ("status", "--json")):
        positional = run_cli(*command, "toy", "--storage", url)
        flagged = run_cli(*command, "--study", "toy", "--storage", url)
        assert positional.returncode == 0, positional.stderr
        assert positional.stdout == flagged.stdout
    report = run_cli("report", "toy", "--storage", url, "-o", str(tmp_path / "r.html"))
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "r.html").stat().st_size > 0

    twice = run_cli("best", "toy", "--study", "other", "--storage", url)
    assert twice.returncode == 2
    assert twice.stderr == "error: best: two studies named ('toy' and --study 'other'); give one\n"
    neither = run_cli("best", "--storage", url)
    assert neither.returncode == 2
    assert neither.stderr == "error: best: which study? sweeper best NAME (or --study NAME)\n"


def test_delete_takes_the_study_name_positionally(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    study_file = fault_support.write_study(tmp_path / "toy.yaml", n_trials=1, delay=0.0)
    assert run_cli("create", str(study_file), "--storage", url).returncode == 0
    deleted = run_cli("delete", "toy", "--storage", url, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(run_cli("list", "--storage", url, "--json").stdout)["studies"] == []


def test_dashboard_takes_the_study_name_and_prints_its_page(finished_study: str) -> None:
    server = start_cli("dashboard", "toy", "--storage", finished_study, "--port", "0")
    with fault_support.killed_on_failure(server):
        line = server.stdout.readline()
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=60)
    assert re.match(r"optuna-dashboard on http://127\.0\.0\.1:\d+/dashboard/studies/\d+ ", line)


def test_an_unknown_study_is_named_with_the_storage_and_the_closest_name(
    finished_study: str,
) -> None:
    for command in ("status", "best", "report", "delete"):
        extra = ("--yes",) if command == "delete" else ()
        result = run_cli(command, "tyo", "--storage", finished_study, *extra)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr == (
            f"error: study 'tyo' does not exist in {finished_study} (did you mean 'toy'?)\n"
        ), command


def test_version_prints_one_line_and_exits_0() -> None:
    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(
        r"gnn-sweeper \d+\.\d+\.\d+ \(optuna 5\.\S+, Python 3\.\S+\)\n", result.stdout
    )


def test_list_never_cuts_a_study_name_at_80_columns(finished_study: str) -> None:
    for columns in ("80", "60"):
        listed = run_cli("list", "--storage", finished_study, env=cli_env(COLUMNS=columns))
        assert listed.returncode == 0, listed.stderr
        assert LONG_NAME in listed.stdout, listed.stdout
        assert "…" not in listed.stdout
        assert max(len(line) for line in listed.stdout.splitlines()) <= int(columns)


def test_status_json_is_a_summary_and_the_series_come_with_series(finished_study: str) -> None:
    summary = run_cli("status", "toy", "--storage", finished_study, "--json")
    full = run_cli("status", "toy", "--storage", finished_study, "--json", "--series")
    assert summary.returncode == 0 and full.returncode == 0
    trials = json.loads(summary.stdout)["trials"]
    assert all("health_series" not in t["user_attrs"] for t in trials)
    assert all("intermediate_values" not in t and t["epochs"] == 10 for t in trials)
    series = json.loads(full.stdout)["trials"]
    assert all(len(t["user_attrs"]["health_series"]["epoch"]) == 10 for t in series)
    assert len(summary.stdout) * 2 < len(full.stdout)  # the series are most of a trial's record


def test_an_unknown_space_parameter_suggests_the_closest_name(tmp_path: Path) -> None:
    study_file = tmp_path / "typo.yaml"
    study_file.write_text(
        "study: typo\nobjective: link_prediction\ndirection: maximize\nmetric: hits@20\n"
        "n_trials: 2\nspace:\n  hiden_channels: {type: int, low: 8, high: 16}\n"
    )
    result = run_cli("launch", str(study_file), "--storage", f"sqlite:///{tmp_path / 's.db'}")
    assert result.returncode == 2
    assert result.stderr == (
        "error: space -> hiden_channels: unknown parameter for objective 'link_prediction' "
        "(did you mean 'hidden_channels'?)\n"
    )
    study_file.write_text(study_file.read_text().replace("direction:", "directoin: x\ndirection:"))
    result = run_cli("launch", str(study_file), "--storage", f"sqlite:///{tmp_path / 's.db'}")
    assert result.stderr == "error: directoin: unknown field (did you mean 'direction'?)\n"


def test_help_shows_no_bool_type_for_flags() -> None:
    for command in ((), ("launch",), ("status",), ("delete",), ("dashboard",), ("resume",)):
        result = run_cli(*command, "--help", env=cli_env(COLUMNS="120"))
        assert result.returncode == 0, result.stderr
        assert "--help" in result.stdout
        assert "<bool>" not in result.stdout, command
