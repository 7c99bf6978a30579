"""A real sweep with health-pruned and completed trials, shared by the browse tests.

`sweeper launch` runs the toy objective with 2 workers on a SQLite file; learning rates up to 50
on a 3-layer, 64-channel MLP explode, so some trials are pruned by `grad_explosion` while small
ones complete. Built once per test session (the first test that needs it pays ~20 s).
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest

from tests.conftest import cli_env, run_cli, start_cli

STUDY = "explode"
STUDY_FILE = """\
study: explode
objective: toy_regression
direction: minimize
metric: val_mse
n_trials: 8
sampler: {name: random, seed: 3}
pruner:
  name: median
  args: {n_startup_trials: 5, n_warmup_steps: 10}
  health: {grad_explosion: {threshold: 1.0e+3, patience: 1}}
params: {epochs: 12, hidden_channels: 64, num_layers: 3}
space:
  lr: {type: float, low: 1.0e-3, high: 50.0, log: true}
heartbeat: {interval: 5, grace_period: 20, max_retry: 3}
"""
ENQUEUED = ('{"lr": 50.0}', '{"lr": 0.01}', '{"lr": 8.0}', '{"lr": 0.02}', '{"lr": 0.005}')


@dataclass
class BrowseStudy:
    """Where the shared study lives."""

    directory: Path
    url: str
    name: str = STUDY

    @property
    def artifacts(self) -> Path:
        """The default artifact directory: next to the SQLite file."""
        return self.directory / "artifacts"

    def load(self) -> optuna.Study:
        """The study, opened read-only for assertions."""
        return optuna.load_study(study_name=self.name, storage=self.url)


def build_browse_study(base: Path) -> BrowseStudy:
    """Run the sweep into `base` once; later calls reuse it."""
    directory = base / "browse-study"
    study = BrowseStudy(directory, f"sqlite:///{directory / 'sweeps.db'}")
    if (directory / "done").exists():
        return study
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "explode.yaml").write_text(STUDY_FILE)
    enqueue = [arg for values in ENQUEUED for arg in ("--enqueue", values)]
    done = run_cli(
        "launch", str(directory / "explode.yaml"), "--workers", "2", "--storage", study.url,
        *enqueue, cwd=directory, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (directory / "done").write_text("ok")
    return study


@pytest.fixture(scope="session")
def browse_study(tmp_path_factory: pytest.TempPathFactory) -> BrowseStudy:
    """The shared sweep (see the module docstring)."""
    return build_browse_study(tmp_path_factory.getbasetemp())


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_dashboard(url: str, *extra: str, cwd: Path) -> tuple[subprocess.Popen[str], str]:
    """Start `sweeper dashboard` on a free loopback port; wait until it answers; its base URL."""
    port = free_port()
    process = start_cli(
        "dashboard", "--storage", url, "--port", str(port), *extra, cwd=cwd, env=cli_env()
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"dashboard exited: {process.communicate()[1]}")
        try:
            with urllib.request.urlopen(f"{base}/api/meta", timeout=2) as response:
                if response.status == 200:
                    return process, base
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise AssertionError("dashboard did not answer within 60 s")


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Stop a started CLI process and return its stdout and stderr."""
    if process.poll() is None:
        process.terminate()
    try:
        return process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()
