"""kill -9 of one of two workers in the middle of a trial: the heartbeat fails that trial within
the grace period, the trial is retried with the same parameters, and the study reaches its
target, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import os
import signal
from datetime import datetime
from pathlib import Path

from optuna.trial import TrialState

from tests.conftest import run_cli, start_cli
from tests.sweeper_tests.fault_support import (
    assert_study_intact,
    load_trials,
    snapshot,
    wait_until,
    write_study,
)

INTERVAL_S, GRACE_S, TRIAL_S = 1, 3, 2.0


def _running_on(url: str, pid: int) -> bool:
    return any(
        t.state == TrialState.RUNNING
        and str(t.user_attrs.get("worker", "")).endswith(f":{pid}")
        and len(t.intermediate_values) >= 2
        for t in load_trials(url)
    )


def test_killed_worker_trial_is_failed_within_the_grace_period_and_retried(
    storage_url: str, tmp_path: Path
) -> None:
    heartbeat = {"interval": INTERVAL_S, "grace_period": GRACE_S, "max_retry": 3}
    study_file = write_study(tmp_path / "toy.yaml", n_trials=4, epochs=8, heartbeat=heartbeat)
    assert run_cli("create", str(study_file), "--storage", storage_url).returncode == 0
    workers = [start_cli("worker", "--study", "toy", "--storage", storage_url) for _ in range(2)]
    victim, survivor = workers
    try:
        wait_until(lambda: _running_on(storage_url, victim.pid), 60, "victim inside a trial")
        before = snapshot(load_trials(storage_url))
        killed_at = datetime.now()
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        _, err = survivor.communicate(timeout=120)
        assert survivor.returncode == 0, err
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    trials = assert_study_intact(storage_url, 4, before=before)
    (failed,) = [t for t in trials if t.state == TrialState.FAIL]
    assert str(failed.user_attrs["worker"]).endswith(f":{victim.pid}")
    (retry,) = [t for t in trials if t.system_attrs.get("failed_trial") == failed.number]
    assert retry.state == TrialState.COMPLETE and retry.params == failed.params
    assert failed.datetime_complete is not None and retry.datetime_start is not None
    to_fail = (failed.datetime_complete - killed_at).total_seconds()
    to_retry = (retry.datetime_start - killed_at).total_seconds()
    backend = storage_url.split(":")[0]
    print(f"\n[{backend}] kill -> FAIL {to_fail:.1f} s, -> retry {to_retry:.1f} s")
    # The survivor checks for stale trials before each of its own trials (or while it waits).
    assert to_fail <= GRACE_S + INTERVAL_S + TRIAL_S + 2
    assert to_retry <= to_fail + TRIAL_S + 2
