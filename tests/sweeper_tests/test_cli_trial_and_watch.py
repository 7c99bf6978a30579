"""`sweeper trial` and `sweeper status --watch` against real SQLite and PostgreSQL studies: one
trial's card with its health curves, and a watcher that follows workers it did not start."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.conftest import run_cli, start_cli
from tests.sweeper_tests.fault_support import write_study


def test_trial_shows_params_state_and_health_curves(tmp_path: Path, storage_url: str) -> None:
    study = write_study(tmp_path / "toy.yaml", n_trials=2, epochs=8, delay=0.0)
    launched = run_cli("launch", str(study), "--storage", storage_url, "--quiet")
    assert launched.returncode == 0, launched.stderr

    shown = run_cli("trial", "--study", "toy", "1", "--storage", storage_url, "--last", "3")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert out.startswith("trial 1: COMPLETE, val_mse="), out
    assert "params: " in out and " lr=" in out and "hidden_channels=" in out
    assert "epochs 1-8" in out  # the sparkline column spans the trial
    for signal in ("val_mse", "loss", "grad_norm"):
        assert any(line.startswith(signal + " ") for line in out.splitlines()), out
    assert any(c in out for c in "▁▂▃▄▅▆▇█")
    assert "last 3 of 8 epochs" in out
    table = out.split("last 3 of 8 epochs")[1].splitlines()
    assert [line.split()[0] for line in table[2:5]] == ["6", "7", "8"], out

    as_json = run_cli("trial", "--study", "toy", "1", "--storage", storage_url, "--json")
    card = json.loads(as_json.stdout)
    assert card["state"] == "COMPLETE" and card["series"]["epoch"] == list(range(1, 9))
    assert len(card["series"]["grad_norm"]) == 8

    missing = run_cli("trial", "--study", "toy", "7", "--storage", storage_url)
    assert missing.returncode == 2
    expected = "error: trial: study toy has no trial 7 (it has 2 trials: 0..1)"
    assert missing.stderr.strip() == expected


def test_status_watch_follows_workers_started_elsewhere(tmp_path: Path, storage_url: str) -> None:
    study = write_study(tmp_path / "toy.yaml", n_trials=3, epochs=6, delay=0.2)
    created = run_cli("create", str(study), "--storage", storage_url)
    assert created.returncode == 0, created.stderr
    watcher = start_cli("status", "--watch", "toy", "--storage", storage_url, "--interval", "0.5")
    time.sleep(1)
    assert watcher.poll() is None  # nothing ran yet: it waits for the study
    worker = run_cli("worker", "--study", "toy", "--storage", storage_url)
    assert worker.returncode == 0, worker.stderr
    out, err = watcher.communicate(timeout=120)
    assert watcher.returncode == 0, err
    lines = out.splitlines()
    assert [line[:5] for line in lines if line.startswith("[")] == ["[1/3]", "[2/3]", "[3/3]"]
    assert "study toy (minimize): 3/3 finished" in out
    assert "\x1b" not in out

    both = run_cli("status", "--watch", "--json", "toy", "--storage", storage_url)
    assert both.returncode == 2
    assert "--watch" in both.stderr and len(both.stderr.strip().splitlines()) == 1
