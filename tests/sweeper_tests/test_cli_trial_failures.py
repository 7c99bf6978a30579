"""An exception in a trial fails that trial with its message; the worker goes on."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.sweeper_tests.user_objectives import write_study_for


def _study(path: Path, objective: str, n_trials: int) -> Path:
    return write_study_for(path, objective, n_trials)


def test_cuda_out_of_memory_fails_the_trial_and_the_worker_goes_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    result = run_cli(
        "launch",
        str(_study(tmp_path / "s.yaml", "out_of_memory_on_even_trials", 3)),
        "--storage",
        url,
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(run_cli("status", "--study", "user", "--storage", url, "--json").stdout)
    assert status["counts"]["COMPLETE"] == 3
    failed = [t for t in status["trials"] if t["state"] == "FAIL"]
    assert len(failed) >= 2
    assert all(
        t["user_attrs"]["fail_reason"].startswith("OutOfMemoryError: CUDA out of memory")
        for t in failed
    )


def test_a_bug_in_a_users_objective_is_recorded_as_the_fail_reason(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    result = run_cli("worker", "--study", "user", "--storage", url, "--n-trials", "2")
    assert result.returncode == 2 and "no database file" in result.stderr  # nothing created yet
    created = run_cli("create", str(_study(tmp_path / "s.yaml", "buggy", 5)), "--storage", url)
    assert created.returncode == 0, created.stderr
    result = run_cli("worker", "--study", "user", "--storage", url, "--n-trials", "2")
    assert result.returncode == 0, result.stderr
    status = json.loads(run_cli("status", "--study", "user", "--storage", url, "--json").stdout)
    assert [t["state"] for t in status["trials"]] == ["FAIL", "FAIL"]
    assert status["trials"][0]["user_attrs"]["fail_reason"] == "KeyError: 'missing_key'"
