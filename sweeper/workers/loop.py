"""The worker loop: take trials of a study until it has its target of finished trials.

A worker needs only the storage URL and the study name: the study file is read from the storage.
Trials run through `study.optimize(n_trials=1)` so Optuna's heartbeat, stale-trial failing and
retrying apply to every one of them.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from objectives.registry import resolve_objective
from storage.engine import open_storage
from sweeper.studies import FINISHED, load_study, stored_config, target_of
from sweeper.workers.devices import pin_device
from sweeper.workers.stopping import StopRequested, StopSignals
from sweeper.workers.trial_runner import TrialRunner

log = logging.getLogger("sweeper.worker")
WAIT_POLL_S = 2.0


@dataclass
class WorkerOptions:
    """How one worker runs: where, on what, for how long."""

    storage_url: str
    study_name: str
    device: str = "cpu"
    n_trials: int | None = None
    deadline: float | None = None
    ordinal: int = 0
    threads: int | None = None


def run_worker(
    options: WorkerOptions,
    stop: StopSignals,
    on_trial: Callable[[optuna.trial.FrozenTrial, str], None] | None = None,
) -> int:
    """Run trials until the study is done, the deadline passes or a stop arrives; exit code."""
    torch_device = pin_device(options.device)  # before torch is imported
    probe = open_storage(options.storage_url, must_exist=True)
    config = stored_config(probe, options.study_name)
    storage = open_storage(
        options.storage_url,
        heartbeat_interval=config.heartbeat.interval,
        grace_period=config.heartbeat.grace_period,
        max_retry=config.heartbeat.max_retry,
        must_exist=True,
    )
    study, config = load_study(storage, options.study_name, worker_ordinal=options.ordinal)
    objective = resolve_objective(config.objective)
    _limit_threads(options.threads)
    runner = TrialRunner(
        config, objective, device=options.device, torch_device=torch_device, stop=stop
    )
    own_trials = 0
    while not stop.requested:
        if options.deadline is not None and time.time() >= options.deadline:
            break
        if options.n_trials is not None and own_trials >= options.n_trials:
            break
        trials = study.get_trials(deepcopy=False)
        finished = sum(t.state in FINISHED for t in trials)
        running = sum(t.state == TrialState.RUNNING for t in trials)
        if finished >= target_of(study):
            break
        if finished + running >= target_of(study):
            # Others hold the last trials; wait in case one of them dies and is re-queued.
            optuna.storages.fail_stale_trials(study)
            time.sleep(WAIT_POLL_S)
            continue
        runner.current_number = None
        try:
            study.optimize(runner, n_trials=1, catch=(Exception,), gc_after_trial=False)
        except StopRequested:
            _requeue_interrupted(study, runner.current_number, config.heartbeat.max_retry)
            break
        own_trials += 1
        if on_trial is not None and runner.current_number is not None:
            on_trial(study.get_trials(deepcopy=False)[runner.current_number], config.metric)
    return stop.exit_code if stop.requested else 0


def _limit_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def _requeue_interrupted(study: optuna.Study, number: int | None, max_retry: int) -> None:
    """The trial a stop interrupted is FAIL now; queue it again with the same parameters."""
    if number is None:
        return
    trial = study.get_trials(deepcopy=False)[number]
    if trial.state == TrialState.RUNNING:
        study.tell(number, state=TrialState.FAIL)
        trial = study.get_trials(deepcopy=False)[number]
    if trial.state == TrialState.FAIL:
        RetryHeartbeatStaleTrialCallback(max_retry=max_retry)(study, trial)


def recover_orphans(study: optuna.Study, max_retry: int) -> list[int]:
    """Fail and re-queue RUNNING trials of dead workers on this host, without waiting for the
    heartbeat grace period; trials of other hosts are left to their heartbeat."""
    host = socket.gethostname()
    recovered: list[int] = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = str(trial.user_attrs.get("worker", ""))
        worker_host, _, pid = worker.rpartition(":")
        if worker_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            study.tell(trial.number, state=TrialState.FAIL)
        except (RuntimeError, ValueError):
            continue  # it finished meanwhile
        failed = study.get_trials(deepcopy=False)[trial.number]
        RetryHeartbeatStaleTrialCallback(max_retry=max_retry)(study, failed)
        recovered.append(trial.number)
    optuna.storages.fail_stale_trials(study)
    return recovered


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True
