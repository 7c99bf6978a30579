"""SIGINT and SIGTERM to `sweeper launch`: the trials in flight are failed and re-queued, nothing
is left RUNNING, the exit code says which signal, and `sweeper resume` completes the study."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.conftest import run_cli, start_cli
from tests.sweeper_tests.fault_support import (
    FINISHED,
    assert_consistent,
    assert_study_intact,
    load_trials,
    snapshot,
    wait_until,
    write_study,
)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_leaves_nothing_running_and_resume_completes(
    signum: signal.Signals, storage_url: str, tmp_path: Path
) -> None:
    study_file = write_study(tmp_path / "toy.yaml", n_trials=5, epochs=10, delay=0.2)
    launcher = start_cli("launch", str(study_file), "--storage", storage_url, "--workers", "2")
    try:
        wait_until(
            lambda: sum(t.state in FINISHED for t in load_trials(storage_url)) >= 1,
            90,
            "a first finished trial",
        )
        launcher.send_signal(signum)  # to the launcher alone: it passes the signal on
        _, err = launcher.communicate(timeout=120)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    assert launcher.returncode == 128 + signum, err
    assert "Traceback" not in err, err
    trials = load_trials(storage_url)
    assert [t.number for t in trials if t.state.name == "RUNNING"] == []
    assert_consistent(trials)
    before = snapshot(trials)

    resumed = run_cli("resume", "--study", "toy", "--storage", storage_url, "--workers", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert_study_intact(storage_url, 5, before=before)
