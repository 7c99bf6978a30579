"""The causal objective resumes from a checkpoint to the same result an uninterrupted run gets:
its model, optimizer, scheduler, augmented-Lagrangian state (alpha, rho) and batch generator
all come back. Real storage (SQLite), a real artifact store, a real stop request."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import optuna
import pytest
from optuna.artifacts import FileSystemArtifactStore

from objectives.causal.objective import objective
from sweeper.checkpoints import TrialCheckpoints
from sweeper.context import TrialContext
from sweeper.workers.stopping import StopRequested, StopSignals

PARAMS = {"dataset": "synthetic", "epochs": 40, "eval_every": 10, "checkpoint_every": 5}


def _context(
    trial: optuna.Trial, store: FileSystemArtifactStore, stop: StopSignals
) -> TrialContext:
    return TrialContext(
        trial,
        metric="shd",
        direction="minimize",
        checkpoints=lambda: TrialCheckpoints(trial, store),
        stop=stop,
    )


def test_a_stopped_causal_trial_resumes_to_the_uninterrupted_value(tmp_path: Path) -> None:
    store = FileSystemArtifactStore(str(tmp_path))
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", direction="minimize")
    whole_trial = study.ask()
    whole = objective(whole_trial, PARAMS, _context(whole_trial, store, StopSignals()))

    cut = study.ask()
    stop = StopSignals()
    timer = threading.Timer(1.0, lambda: setattr(stop, "signum", signal.SIGTERM))
    timer.start()
    with pytest.raises(StopRequested):
        objective(cut, PARAMS, _context(cut, store, stop))
    timer.cancel()
    study.tell(cut, state=optuna.trial.TrialState.FAIL)
    saved = study.trials[cut.number].user_attrs["checkpoint"]
    assert 1 <= saved["epoch"] < 40

    retry = study.ask()
    study._storage.set_trial_system_attr(retry._trial_id, "retry_history", [cut.number])
    value = objective(retry, PARAMS, _context(retry, store, StopSignals()))
    resumed = study.trials[retry.number]
    assert resumed.user_attrs["resumed_from"] == {"trial": cut.number, "epoch": saved["epoch"]}
    assert value == whole
    assert resumed.intermediate_values == study.trials[whole_trial.number].intermediate_values
