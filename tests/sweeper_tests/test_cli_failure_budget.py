"""A study whose trials cannot run stops within its failure budget instead of failing forever:
`launch --workers 2` exits 4 with one line, `status` says why, a joining worker is refused, and
`resume` finishes the study once the cause is fixed. Failures under the budget do not stop it."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.conftest import run_cli
from tests.sweeper_tests.fault_support import load_trials
from tests.sweeper_tests.user_objectives import write_study_for

MAX_CONSECUTIVE = 5
WORKERS = 2


def _study(path: Path, objective: str, n_trials: int, **params: object) -> Path:
    failures = {"max_consecutive": MAX_CONSECUTIVE, "max_total": None}
    return write_study_for(
        path, objective, n_trials, study="budget", low=-1.0, params=params, failures=failures
    )


def _status(url: str) -> dict:
    shown = run_cli("status", "--study", "budget", "--storage", url, "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def test_an_always_failing_objective_stops_with_exit_4_and_resume_finishes_after_the_fix(
    storage_url: str, tmp_path: Path
) -> None:
    data_file = tmp_path / "edges.csv"
    study_file = _study(tmp_path / "s.yaml", "needs_data_file", 4, data_file=str(data_file))
    reason = f"(SweeperError: dataset: {data_file} does not exist)"
    start = time.monotonic()
    launched = run_cli(
        "launch", str(study_file), "--storage", storage_url, "--workers", str(WORKERS)
    )
    seconds = time.monotonic() - start
    assert launched.returncode == 4, (launched.stdout, launched.stderr)
    assert seconds < 60, f"stopped after {seconds:.0f} s"
    failed = [t for t in load_trials(storage_url, "budget") if t.state.name == "FAIL"]
    assert MAX_CONSECUTIVE <= len(failed) <= MAX_CONSECUTIVE + WORKERS
    # the worker that saw the budget spent first wrote the count it saw (the other worker's
    # trial may have failed at the same moment)
    (line,) = launched.stderr.strip().splitlines()
    counts = range(MAX_CONSECUTIVE, len(failed) + 1)
    assert line in [
        f"error: study budget stopped: {n} trials in a row failed {reason}" for n in counts
    ]
    print(f"\n[failure budget] launch --workers 2 exit 4 in {seconds:.1f} s, {len(failed)} FAIL")

    status = _status(storage_url)
    assert status["stopped"]["rule"] == "max_consecutive"
    assert status["stopped"]["count"] >= MAX_CONSECUTIVE
    assert status["stopped"]["error"] == f"SweeperError: dataset: {data_file} does not exist"
    text = run_cli("status", "--study", "budget", "--storage", storage_url).stdout
    assert "study budget stopped: " in text and "sweeper resume --study budget" in text
    listed = run_cli("list", "--storage", storage_url, "--json")
    (row,) = json.loads(listed.stdout)["studies"]
    assert row["stopped"]["rule"] == "max_consecutive"
    assert "0/4 stopped" in run_cli("list", "--storage", storage_url).stdout

    joined = run_cli("worker", "--study", "budget", "--storage", storage_url)
    assert joined.returncode == 4, joined.stderr
    assert joined.stderr.strip().splitlines() == [line]
    assert len(load_trials(storage_url, "budget")) == len(failed), "a stopped study ran a trial"

    data_file.write_text("0,1\n")
    resumed = run_cli("resume", "--study", "budget", "--storage", storage_url, "--workers", "2")
    assert resumed.returncode == 0, (resumed.stdout, resumed.stderr)
    status = _status(storage_url)
    assert status["stopped"] is None
    assert status["counts"]["COMPLETE"] == 4


def test_failures_for_some_parameters_are_counted_but_do_not_stop_the_study(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    study_file = _study(tmp_path / "s.yaml", "fails_below_zero", 6)
    launched = run_cli(
        "launch", str(study_file), "--storage", url, "--workers", str(WORKERS),
        "--enqueue", '{"x": -0.5}', "--enqueue", '{"x": -0.25}', "--enqueue", '{"x": 2.0}',
    )  # fmt: skip
    assert launched.returncode == 0, (launched.stdout, launched.stderr)
    assert launched.stderr.strip() == ""
    status = _status(url)
    assert status["stopped"] is None
    assert status["counts"]["COMPLETE"] == 6
    reasons = [t["user_attrs"]["fail_reason"] for t in status["trials"] if t["state"] == "FAIL"]
    # Two workers may both start a trial when one is left; the later one is refused as surplus.
    objective_failures = [reason for reason in reasons if not reason.startswith("surplus:")]
    assert len(objective_failures) >= 2, reasons
    assert all(reason.startswith("ValueError: x=-") for reason in objective_failures), reasons


def test_an_objective_that_returns_nan_counts_against_the_budget_with_a_reason(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    launched = run_cli(
        "launch", str(_study(tmp_path / "s.yaml", "returns_nan", 3)), "--storage", url
    )
    assert launched.returncode == 4, (launched.stdout, launched.stderr)
    assert launched.stderr.strip().splitlines() == [
        "error: study budget stopped: 5 trials in a row failed "
        "(ObjectiveValueError: the objective returned nan, not a finite number)"
    ]
