"""A bounded soak: the launcher, a worker or both killed with SIGKILL at a random moment, 20
times in a row, each time resumed; after every kill no finished trial is lost, changed or
counted twice, and the last resume completes the study with every invariant holding."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from optuna.trial import TrialState

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

ROUNDS = 20
TARGET = 16


def _workers_of(launcher: subprocess.Popen[str]) -> list[int]:
    """Pids of the launcher's worker processes (its children, from /proc)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == launcher.pid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


def _wait_gone(pids: list[int], timeout: float) -> None:
    end = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < end:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)


def _kill_at_random(
    launcher: subprocess.Popen[str], url: str, victim: str, rng: random.Random
) -> str:
    """Once trials run, wait a random moment, then SIGKILL the launcher, one worker, or the
    whole group (launcher and workers, no clean-up anywhere)."""
    try:
        wait_until(
            lambda: (
                any(t.state == TrialState.RUNNING for t in load_trials(url))
                or launcher.poll() is not None
            ),
            90,
            "a running trial",
        )
    except AssertionError:
        pass  # the study may already be complete
    time.sleep(rng.uniform(0.0, 3.0))
    workers = _workers_of(launcher)
    if victim == "worker" and workers:
        os.kill(rng.choice(workers), signal.SIGKILL)
        time.sleep(rng.uniform(0.2, 2.0))  # the launcher restarts it; then end the round
        os.killpg(launcher.pid, signal.SIGKILL)
    elif victim == "launcher":
        launcher.kill()  # its workers get SIGTERM from the kernel and stop cleanly
        _wait_gone(workers, timeout=60)
    else:
        os.killpg(launcher.pid, signal.SIGKILL)
    launcher.communicate(timeout=60)
    return victim


def test_twenty_random_kills_then_resume_lose_and_duplicate_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    rng = random.Random(7)
    # max_retry high enough that 20 kills cannot exhaust a trial's retries (3 would, by design)
    heartbeat = {"interval": 1, "grace_period": 3, "max_retry": 50}
    study_file = write_study(
        tmp_path / "toy.yaml", n_trials=TARGET, epochs=10, delay=0.25, heartbeat=heartbeat
    )
    assert run_cli("create", str(study_file), "--storage", sqlite_url).returncode == 0
    before = snapshot(load_trials(sqlite_url))
    victims: Counter[str] = Counter()
    plan = ["worker", "launcher", "everything"] * (ROUNDS // 3 + 1)
    rng.shuffle(plan)
    for victim in plan[:ROUNDS]:
        launcher = start_cli("resume", "--study", "toy", "--storage", sqlite_url, "--workers", "2")
        try:
            victims[_kill_at_random(launcher, sqlite_url, victim, rng)] += 1
        finally:
            if launcher.poll() is None:
                os.killpg(launcher.pid, signal.SIGKILL)
                launcher.wait()
        trials = load_trials(sqlite_url)
        assert_consistent(trials, before)
        assert sum(t.state in FINISHED for t in trials) <= TARGET
        before = snapshot(trials)

    resumed = run_cli("resume", "--study", "toy", "--storage", sqlite_url, "--workers", "2")
    assert resumed.returncode == 0, resumed.stderr
    trials = assert_study_intact(sqlite_url, TARGET, before=before)
    failed = sum(t.state == TrialState.FAIL for t in trials)
    assert failed >= 5, "the kills should land inside trials"
    print(f"\n[soak] {ROUNDS} kills {dict(victims)}; {len(trials)} trials, {failed} failed+retried")
