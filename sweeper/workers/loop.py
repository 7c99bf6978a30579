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
from datetime import datetime

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from storage.engine import StorageFault
from sweeper.errors import StudyStopped
from sweeper.exit_codes import ExitCode
from sweeper.failures import enforce_budget, stop_message
from sweeper.objective_registry import resolve_objective
from sweeper.studies import FINISHED, open_study, target_of
from sweeper.trial_attrs import FAIL_REASON_ATTR, WORKER_ATTR
from sweeper.workers.devices import pin_device
from sweeper.workers.stopping import StopRequested, StopSignals
from sweeper.workers.trial_runner import HealthUploader, TrialRunner

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
    *,
    upload_health: HealthUploader | None = None,
) -> int:
    """Run trials until the study is done, the deadline passes or a stop arrives; exit code.

    A storage that stays away longer than the study's `heartbeat.storage_outage`, or cannot
    take writes (full disk, read-only file), ends the worker with one line on stderr and exit
    code 3; its trial in flight stays RUNNING until the heartbeat (or `sweeper resume`) fails
    and re-queues it. A study whose failure budget is spent (by this worker's trials or any
    other's) raises StudyStopped before the next trial.
    """
    _quiet_expected_failures()
    try:
        return _run_trials(options, stop, on_trial, upload_health)
    except Exception as error:
        outage = storage_outage_in(error)
        if outage is None:
            raise
        log.error("error: %s", outage)
        return ExitCode.STORAGE


class _NoTracebackForExpected(logging.Filter):
    """Optuna logs every failed trial with its traceback; for a trial stopped by Ctrl-C/SIGTERM
    or by a storage fault the one-line message says it all."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and (
            isinstance(error, StopRequested) or storage_outage_in(error) is not None
        ):
            record.exc_info = None
            record.exc_text = None
        return True


def _quiet_expected_failures() -> None:
    for handler in logging.getLogger("optuna").handlers:
        if not any(isinstance(f, _NoTracebackForExpected) for f in handler.filters):
            handler.addFilter(_NoTracebackForExpected())


def storage_outage_in(error: BaseException) -> StorageFault | None:
    """The StorageFault (outage past the bound, full disk, read-only file) behind an error, if
    any (Optuna may raise another error while handling it, e.g. when it cannot even read the
    trial it failed to finish)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, StorageFault):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _run_trials(
    options: WorkerOptions,
    stop: StopSignals,
    on_trial: Callable[[optuna.trial.FrozenTrial, str], None] | None,
    upload_health: HealthUploader | None,
) -> int:
    torch_device = pin_device(options.device)  # before torch is imported
    _, study, config = open_study(options.storage_url, options.study_name)
    objective = resolve_objective(config.objective)
    _limit_threads(options.threads)
    runner = TrialRunner(
        config,
        objective,
        device=options.device,
        torch_device=torch_device,
        stop=stop,
        upload_health=upload_health,
    )
    own_trials = 0
    told: list[optuna.trial.FrozenTrial] = []

    def keep_told(_: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        told.append(trial)

    while not stop.requested:
        if options.deadline is not None and time.time() >= options.deadline:
            break
        if options.n_trials is not None and own_trials >= options.n_trials:
            break
        # One read each of the trials and of the study's attributes per trial: through a proxy
        # every read is a round trip that a fleet's workers queue for.
        trials = study.get_trials(deepcopy=False)
        attrs = study.user_attrs
        stopped = enforce_budget(study, trials, config.failures, attrs)
        if stopped is not None:
            raise StudyStopped(stop_message(study.study_name, stopped))
        finished = sum(t.state in FINISHED for t in trials)
        running = sum(t.state == TrialState.RUNNING for t in trials)
        target = target_of(study, attrs)
        if finished >= target:
            break
        if finished + running >= target:
            # Others hold the last trials; wait in case one of them dies and is re-queued.
            optuna.storages.fail_stale_trials(study)
            time.sleep(WAIT_POLL_S)
            continue
        runner.current_number = None
        runner.target = target
        told.clear()
        try:
            study.optimize(
                runner,
                n_trials=1,
                catch=(Exception,),
                gc_after_trial=False,
                # The trial as told, in one read (none when nobody prints it).
                callbacks=[keep_told] if on_trial is not None else None,
            )
        except StopRequested:
            _requeue_interrupted(study, runner.current_number, config.heartbeat.max_retry)
            break
        except ValueError:
            if not _told_elsewhere(study, runner.current_number):
                raise
            continue
        own_trials += 1
        if on_trial is not None and told:
            on_trial(told[-1], config.metric)
    return stop.exit_code if stop.requested else ExitCode.OK


def _told_elsewhere(study: optuna.Study, number: int | None) -> bool:
    """Whether Optuna's "Cannot tell a FAIL trial" means another process finished this trial
    while it ran (another worker's stale-heartbeat check failed it when this worker stalled
    past the grace period): it is recorded once, and this worker goes on to the next one."""
    if number is None:
        return False
    return study.get_trials(deepcopy=False)[number].state.is_finished()


def _limit_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def _requeue_interrupted(study: optuna.Study, number: int | None, max_retry: int) -> None:
    """The trial a stop interrupted is FAIL now; queue it again with the same parameters.

    The retry callback appends to the trial's `retry_history` list in place, so it is always
    given a deep copy: on the cached trial that append would corrupt later retry checks.
    """
    if number is None:
        return
    trial = study.get_trials(deepcopy=True)[number]
    if trial.state == TrialState.RUNNING:
        study.tell(number, state=TrialState.FAIL)
        trial = study.get_trials(deepcopy=True)[number]
    if trial.state == TrialState.FAIL:
        RetryHeartbeatStaleTrialCallback(max_retry=max_retry)(study, trial)


def recover_orphans(
    study: optuna.Study, max_retry: int, *, grace_period: float | None = None
) -> list[int]:
    """Fail and re-queue RUNNING trials of dead workers on this host, without waiting for the
    heartbeat grace period; trials of other hosts are left to their heartbeat.

    With `grace_period`, a RUNNING trial that never recorded its worker (the worker died between
    taking the trial and its first write, so it has no heartbeat either) is also an orphan once
    it is older than the grace period (nothing else would ever fail it), and an interrupted FAIL
    trial whose retry was never queued is re-queued.
    """
    host = socket.gethostname()
    recovered: list[int] = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = str(trial.user_attrs.get(WORKER_ATTR, ""))
        worker_host, _, pid = worker.rpartition(":")
        if not worker:
            if not _unclaimed_for(trial, grace_period):
                continue
        elif worker_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            study.tell(trial.number, state=TrialState.FAIL)
        except (RuntimeError, ValueError):
            continue  # it finished meanwhile
        failed = study.get_trials(deepcopy=True)[trial.number]
        RetryHeartbeatStaleTrialCallback(max_retry=max_retry)(study, failed)
        recovered.append(trial.number)
    optuna.storages.fail_stale_trials(study)
    if grace_period is not None:
        recovered += _requeue_lost_retries(study, max_retry, grace_period)
    return recovered


def _requeue_lost_retries(study: optuna.Study, max_retry: int, grace_period: float) -> list[int]:
    """Re-queue interrupted trials whose retry was never queued.

    Failing a trial and queuing its retry are two transactions (in Optuna's stale-trial check,
    on a stop signal, here); a process killed between them leaves a FAIL trial nobody retries.
    Such a trial has no `fail_reason` (the objective did not raise) and no retry; it is repaired
    once it has been FAIL for longer than the grace period, so a process that is just now
    queuing the retry is never raced.
    """
    trials = study.get_trials(deepcopy=True)
    retried = {(t.system_attrs.get("retry_history") or [None])[-1] for t in trials}
    now = datetime.now()
    repaired: list[int] = []
    for trial in trials:
        if trial.state != TrialState.FAIL or trial.number in retried:
            continue
        if FAIL_REASON_ATTR in trial.user_attrs or trial.datetime_complete is None:
            continue
        if (now - trial.datetime_complete).total_seconds() <= grace_period:
            continue
        before = len(study.get_trials(deepcopy=False))
        RetryHeartbeatStaleTrialCallback(max_retry=max_retry)(study, trial)
        if len(study.get_trials(deepcopy=False)) > before:
            repaired.append(trial.number)
    return repaired


def _unclaimed_for(trial: optuna.trial.FrozenTrial, grace_period: float | None) -> bool:
    """Whether a trial without a worker attribute has been RUNNING longer than the grace."""
    if grace_period is None or trial.datetime_start is None:
        return False
    return (datetime.now() - trial.datetime_start).total_seconds() > grace_period


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
