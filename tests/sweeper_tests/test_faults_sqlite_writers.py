"""Four worker processes and a polling optuna-dashboard on one SQLite file for 60 s: not one
"database is locked" failure anywhere (trials, worker output, dashboard responses)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from optuna.trial import TrialState

from tests.conftest import cli_env, run_cli
from tests.sweeper_tests.fault_support import (
    FINISHED,
    assert_consistent,
    load_trials,
    wait_until,
    write_study,
)

RUN_S = 60
LOCKED = "database is locked"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as error:
        return 0, str(error)  # not listening (yet)


def test_four_workers_and_a_dashboard_for_a_minute_never_lock_the_file(
    sqlite_url: str, tmp_path: Path
) -> None:
    # Short trials: many writes per second (params, intermediate values, health, heartbeats).
    study_file = write_study(tmp_path / "toy.yaml", n_trials=100_000, epochs=5, delay=0.05)
    assert run_cli("create", str(study_file), "--storage", sqlite_url).returncode == 0
    port = _free_port()
    dashboard = subprocess.Popen(
        [str(Path(sys.executable).parent / "optuna-dashboard"), sqlite_url, "--host", "127.0.0.1",
         "--port", str(port)],
        env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    launcher: subprocess.Popen[str] | None = None
    try:
        wait_until(lambda: _get(f"{base}/api/meta")[0] == 200, 60, "the dashboard")
        launcher = subprocess.Popen(
            [sys.executable, "-m", "sweeper", "resume", "--study", "toy", "--storage",
             sqlite_url, "--workers", "4", "--timeout", str(RUN_S)],
            env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        polls, bad = 0, []
        while launcher.poll() is None:
            for path in ("/api/studies", "/api/studies/1?after=0"):
                status, body = _get(base + path)
                polls += 1
                if status != 200 or LOCKED in body:
                    bad.append((path, status, body[:200]))
            time.sleep(0.25)
        out, err = launcher.communicate()
    finally:
        dashboard.terminate()
        dashboard_log, _ = dashboard.communicate(timeout=30)
        if launcher is not None and launcher.poll() is None:
            launcher.kill()
    assert launcher is not None and launcher.returncode == 0, err
    trials = load_trials(sqlite_url)
    finished = sum(t.state in FINISHED for t in trials)
    failed = [t for t in trials if t.state == TrialState.FAIL]
    locked = sum(LOCKED in text for text in (out, err, dashboard_log)) + sum(
        LOCKED in str(t.user_attrs.get("fail_reason", "")) for t in trials
    )
    print(
        f"\n[sqlite writers] {finished} trials by 4 workers in {RUN_S} s, {polls} dashboard "
        f"polls, {locked} 'database is locked', {len(failed)} failed, {len(bad)} bad polls"
    )
    assert locked == 0
    assert bad == []
    assert failed == []
    assert [t for t in trials if t.state == TrialState.RUNNING] == []
    assert finished >= 20  # really many writers at once, not a trickle
    assert len({t.user_attrs["worker"] for t in trials}) == 4
    assert_consistent(trials)
