"""The live view as a user sees it: `sweeper launch` in a real terminal (tmux, read back with
`capture-pane`) redraws a board of the running trials while two workers run; through a pipe,
or with `--quiet`, the output stays one plain line per finished trial, with no escape codes."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_env, run_cli
from tests.sweeper_tests.fault_support import write_study

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

ROW = re.compile(r"^\s*(\d+)\s+\S+:\d+\s+cpu\s+(\d+)\s", re.MULTILINE)


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], check=True, capture_output=True, text=True, timeout=30
    ).stdout


def _screen(session: str) -> str:
    return _tmux("capture-pane", "-p", "-t", session)


def _in_terminal(tmp_path: Path, *args: str) -> str:
    """Start `sweeper ARGS` in a fresh 150x40 tmux session; returns the session's name."""
    session = f"sweeper-{uuid.uuid4().hex[:8]}"
    env = cli_env()
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if k.isidentifier())
    command = (
        f"cd {shlex.quote(str(REPO))} && env -i {exports} TERM=xterm-256color "
        f"{shlex.quote(sys.executable)} -m sweeper {' '.join(map(shlex.quote, args))}; "
        f"echo EXITED $?; sleep 600"
    )
    _tmux("new-session", "-d", "-s", session, "-x", "150", "-y", "40", "bash", "-c", command)
    return session


def _wait_for(session: str, pattern: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = _screen(session)
        if re.search(pattern, screen):
            return screen
        time.sleep(0.5)
    raise AssertionError(f"{pattern!r} never showed; the screen:\n{_screen(session)}")


def test_launch_in_a_terminal_redraws_the_running_trials(tmp_path: Path) -> None:
    study = write_study(tmp_path / "toy.yaml", n_trials=4, epochs=60, delay=0.25)
    url = f"sqlite:///{tmp_path / 'live.db'}"
    session = _in_terminal(tmp_path, "launch", str(study), "--storage", url, "--workers", "2")
    try:
        first = _wait_for(session, r"nearest health limits", timeout=240)
        assert "target 4 trials" in first
        assert re.search(r"0/4 finished|1/4 finished", first), first
        # both workers' trials are on the board, with an epoch that moves on as it redraws
        deadline = time.monotonic() + 180
        epochs: dict[int, int] = {}
        while len(epochs) < 2 and time.monotonic() < deadline:
            screen = _screen(session)
            epochs = {int(n): int(e) for n, e in ROW.findall(screen)}
            time.sleep(0.5)
        assert len(epochs) == 2 and "2 running" in screen, screen
        assert "grad_norm" in screen, screen  # a signal nearest its limit
        time.sleep(4)
        later = _screen(session)
        moved = {int(n): int(e) for n, e in ROW.findall(later)}
        assert any(moved.get(n, 10**6) > e for n, e in epochs.items()), (screen, later)
        done = _wait_for(session, r"EXITED \d+", timeout=300)
        assert "EXITED 0" in done, done
        assert re.search(r"done: 4/4 finished", done), done
        assert "nearest health limits" not in done  # the board leaves with the sweep
        assert "[4/4]" in done
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)


def test_quiet_in_a_terminal_and_a_pipe_get_plain_lines_only(tmp_path: Path) -> None:
    study = write_study(tmp_path / "toy.yaml", n_trials=2, epochs=12, delay=0.25)
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    session = _in_terminal(
        tmp_path, "launch", str(study), "--storage", url, "--workers", "2", "--quiet"
    )
    try:
        seen = ""
        deadline = time.monotonic() + 300
        while "EXITED" not in seen and time.monotonic() < deadline:
            seen = _screen(session)
            assert "nearest health limits" not in seen, seen
            time.sleep(0.5)
        assert "EXITED 0" in seen and "[2/2]" in seen, seen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)

    piped = run_cli(
        "launch", str(study), "--storage", f"sqlite:///{tmp_path / 'pipe.db'}", "--workers", "2"
    )
    assert piped.returncode == 0, piped.stderr
    assert "\x1b" not in piped.stdout and "\x1b" not in piped.stderr
    assert "nearest health limits" not in piped.stdout
    assert [line[:5] for line in piped.stdout.splitlines() if line.startswith("[")] == [
        "[1/2]",
        "[2/2]",
    ]


def test_a_worker_in_a_terminal_shows_the_whole_study_live(tmp_path: Path) -> None:
    study = write_study(tmp_path / "toy.yaml", n_trials=2, epochs=40, delay=0.25)
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    assert run_cli("create", str(study), "--storage", url).returncode == 0
    session = _in_terminal(tmp_path, "worker", "--study", "toy", "--storage", url)
    try:
        screen = _wait_for(session, r"nearest health limits", timeout=240)
        assert "study toy: 0/2 finished" in screen or "study toy: 1/2 finished" in screen
        done = _wait_for(session, r"EXITED \d+", timeout=300)
        assert "EXITED 0" in done, done
        assert "trial 1 COMPLETE" in done and "nearest health limits" not in done
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)
