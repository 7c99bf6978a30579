"""A worker whose objective needs no torch never imports it (64 workers that each load torch do
not fit in 24 GiB): the health monitor, and torch with it, is built only once a trial feeds it,
and the trial's reports, health series and value are recorded as with a monitored objective."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import run_cli
from tests.sweeper_tests.fault_support import load_trials


def test_a_torch_free_objective_runs_in_a_worker_that_never_imports_torch(
    sqlite_url: str, tmp_path: Path
) -> None:
    study = {
        "study": "plain",
        "objective": "tests.sweeper_tests.plain_objectives:quadratic_without_torch",
        "direction": "minimize",
        "metric": "loss",
        "n_trials": 3,
        "sampler": {"name": "random", "seed": 1},
        "pruner": {"name": "median", "health": {}},
        "space": {"x": {"type": "float", "low": -2.0, "high": 2.0}},
    }
    path = tmp_path / "plain.yaml"
    path.write_text(yaml.safe_dump(study))
    assert run_cli("create", str(path), "--storage", sqlite_url).returncode == 0
    worker = run_cli("worker", "--study", "plain", "--storage", sqlite_url, "--device", "cpu")
    assert worker.returncode == 0, worker.stderr
    trials = load_trials(sqlite_url, "plain")
    assert [t.state.name for t in trials] == ["COMPLETE"] * 3
    for trial in trials:
        assert trial.user_attrs["torch_loaded"] is False
        assert sorted(trial.intermediate_values) == [1, 2, 3]
