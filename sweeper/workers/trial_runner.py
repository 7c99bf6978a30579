"""Run one trial: sample its parameters, give the objective a context, record who ran it.

At the end of every trial its health series goes to an `upload_health` hook, when the worker was
given one (`sweeper worker` hands it the dashboard's artifact upload); workers never import the
presentation layer themselves.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import optuna
from optuna.trial import TrialState

from sweeper.artifact_location import open_checkpoint_store, storage_url_of
from sweeper.checkpoints import TrialCheckpoints
from sweeper.config import StudyConfig
from sweeper.context import TrialContext
from sweeper.failures import SURPLUS_PREFIX
from sweeper.health.series import HealthSeries
from sweeper.search_space import suggest_params
from sweeper.studies import FINISHED, target_of
from sweeper.trial_attrs import DEVICE_ATTR, FAIL_REASON_ATTR, WORKER_ATTR
from sweeper.workers.stopping import StopSignals

if TYPE_CHECKING:
    from sweeper.health.monitor import HealthMonitor

FAIL_REASON_MAX_CHARS = 2_000
#: Health attributes reach the storage at most this often (and always when the trial ends).
HEALTH_SYNC_S = 2.0


class HealthUploader(Protocol):
    """Keeps a finished trial's health series somewhere to look at (the dashboard's artifact
    store); logs instead of raising, since an artifact is never worth a failed trial."""

    def __call__(self, trial: optuna.Trial, series: HealthSeries, configured: str | None) -> None:
        """Upload `series` for `trial`; `configured` is the study file's `artifacts` field."""


class SurplusTrial(Exception):
    """The study reached its target while this trial was being started by another worker."""


def worker_id() -> str:
    """`host:pid`, stored on every trial as user attribute `worker`."""
    return f"{socket.gethostname()}:{os.getpid()}"


class TrialRunner:
    """The callable `study.optimize` runs: one trial of the study file's objective."""

    def __init__(
        self,
        config: StudyConfig,
        objective: Callable[..., float],
        *,
        device: str,
        torch_device: str,
        stop: StopSignals,
        upload_health: HealthUploader | None = None,
    ) -> None:
        self.config = config
        self.objective = objective
        self.device = device
        self.torch_device = torch_device
        self.stop = stop
        self.upload_health = upload_health
        self.current_number: int | None = None
        #: The study's target as the worker loop read it just before this trial (None: read it).
        self.target: int | None = None

    def _new_monitor(self) -> HealthMonitor:
        """The monitor the study's rules need; imports torch, so only once a trial feeds it."""
        from sweeper.health.monitor import HealthMonitor

        return HealthMonitor.for_rules(self.config.pruner.health)

    def __call__(self, trial: optuna.Trial) -> float:
        self.current_number = trial.number
        trial.set_user_attr(WORKER_ATTR, worker_id())
        trial.set_user_attr(DEVICE_ATTR, self.device)
        self._refuse_surplus(trial)
        try:
            params = suggest_params(trial, self.config)
            context = TrialContext(
                trial,
                device=self.torch_device,
                metric=self.config.metric,
                direction=self.config.direction,
                new_monitor=self._new_monitor,
                health_sync_s=HEALTH_SYNC_S,
                checkpoints=lambda: self._checkpoints(trial),
                stop=self.stop,
                stop_grace_s=float(self.config.heartbeat.grace_period),
            )
            self.stop.in_trial = True
            try:
                value = _checked(self.objective(trial, params, context))
            except (optuna.TrialPruned, Exception):
                self.stop.end_trial()
                context.finish_checkpoints()  # ended on its own: its retry chain is done
                raise
            finally:
                self.stop.end_trial()
                context.flush_health()
                if self.upload_health is not None:
                    self.upload_health(trial, context.health_series, self.config.artifacts)
            context.finish_checkpoints()
            return value
        except optuna.TrialPruned:
            raise
        except Exception as error:
            trial.set_user_attr(FAIL_REASON_ATTR, describe_failure(error))
            _release_gpu_memory(error)
            raise

    def _checkpoints(self, trial: optuna.Trial) -> TrialCheckpoints:
        """The trial's checkpoints, in the study's artifact store."""
        store = open_checkpoint_store(storage_url_of(trial), self.config.artifacts)
        return TrialCheckpoints(trial, store, keep=self.config.checkpoints.keep)

    def _refuse_surplus(self, trial: optuna.Trial) -> None:
        """Fail at once if earlier trials already fill the target (two workers raced)."""
        earlier = [
            t
            for t in trial.study.get_trials(deepcopy=False)
            if t.number < trial.number and (t.state in FINISHED or t.state == TrialState.RUNNING)
        ]
        target = target_of(trial.study) if self.target is None else self.target
        if len(earlier) >= target:
            reason = f"{SURPLUS_PREFIX} the study's target was already filled by earlier trials"
            trial.set_user_attr(FAIL_REASON_ATTR, reason)
            raise SurplusTrial(reason)


class ObjectiveValueError(ValueError):
    """The objective returned something that is not a finite number (Optuna fails the trial)."""


def _checked(value: object) -> float:
    """The objective's value; one that Optuna would fail the trial for raises instead, so the
    trial records why (`fail_reason`) and counts against the failure budget."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise ObjectiveValueError(f"the objective returned {value!r}, not a finite number")
    return number


def describe_failure(error: BaseException) -> str:
    """`Type: message`, cut to a length a user attribute can carry."""
    text = f"{type(error).__name__}: {error}".strip()
    return text[:FAIL_REASON_MAX_CHARS]


def _release_gpu_memory(error: BaseException) -> None:
    """After CUDA runs out of memory, free the cache so the next trial can start clean."""
    if "OutOfMemoryError" not in type(error).__name__:
        return
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
