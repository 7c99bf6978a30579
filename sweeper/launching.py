"""Launch, resume and follow a sweep: check everything first, then write, then run workers.

Every check that can fail on user input (study file, objective, parameter names, enqueued sets,
storage URL, and the objective's own pre-flight: its data and optional packages) runs before
anything is written to the storage.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from pydantic import BaseModel, ValidationError
from rich.console import Console

from storage.engine import StorageFault, open_storage
from storage.urls import parse_storage_url, redact_url, storage_flag
from sweeper.config import CategoricalParam, StudyConfig
from sweeper.errors import StudyStopped, SweeperError, did_you_mean
from sweeper.exit_codes import ExitCode
from sweeper.failures import clear_stop, stop_message, stopped_of
from sweeper.live.view import progress_view
from sweeper.objective_registry import resolve_objective, run_preflight
from sweeper.progress import closing_line, header_line, stopped_line
from sweeper.quick_look import finished_already, launch_config, nothing_to_do_line
from sweeper.studies import (
    FINISHED,
    create_or_continue,
    enqueue_trials,
    finished_count,
    open_study,
    set_target,
    target_of,
    trials_in_flight,
    use_study_heartbeat,
)
from sweeper.trial_attrs import TRIAL_NAME_ATTR
from sweeper.workers.devices import assign_devices, parse_devices
from sweeper.workers.launcher import WorkerPool
from sweeper.workers.loop import recover_orphans, storage_outage_in

POLL_S = 1.0


@dataclass
class RunOptions:
    """How many workers, on which devices, for how long."""

    workers: int = 1
    devices: str = "cpu"
    trials_per_device: int = 1
    timeout: float | None = None
    threads: int | None = None
    verbose: bool = False
    #: Plain lines even in a terminal (no live board).
    quiet: bool = False


@dataclass
class LaunchPlan:
    """A checked launch: nothing has been written yet."""

    storage_url: str
    config: StudyConfig
    enqueued: list[dict[str, Any]] = field(default_factory=list)
    #: Finished trials of a study that already has this file and its target (nothing to run).
    already_finished: int | None = None


def plan_launch(
    study_file: Path,
    *,
    storage_url: str,
    study_name: str | None,
    n_trials: int | None,
    timeout: float | None,
    enqueue: list[str],
) -> LaunchPlan:
    """Validate the study file, its flags and the enqueued parameter sets."""
    config = launch_config(study_file, study_name=study_name, n_trials=n_trials, timeout=timeout)
    parse_storage_url(storage_url)
    for index, values in enumerate(config.enqueue):
        check_enqueued(values, config, where=f"enqueue -> {index}")
    enqueued = [parse_enqueued(text, config) for text in enqueue]
    done = None if enqueued else finished_already(storage_url, config)
    if done is None:  # the objective (and torch) are loaded only when there is work to do
        check_objective_params(config)
        preflight(config, [*config.enqueue, *enqueued])
    return LaunchPlan(
        storage_url=storage_url, config=config, enqueued=enqueued, already_finished=done
    )


def preflight(config: StudyConfig, enqueued: list[dict[str, Any]]) -> None:
    """Ask the objective whether it can start (its `preflight` hook, when it has one) with the
    fixed params and each categorical choice or enqueued set that could change them."""
    objective = resolve_objective(config.objective)
    base: dict[str, Any] = dict(config.params)
    for name, spec in config.space.items():
        base[name] = spec.choices[0] if isinstance(spec, CategoricalParam) else spec.low
    variants = [base]
    for name, spec in config.space.items():
        if isinstance(spec, CategoricalParam):
            variants += [{**base, name: choice} for choice in spec.choices[1:]]
    keys = {*config.space, *config.params}  # an enqueued set's `name` is a label, not a param
    variants += [{**base, **{k: v for k, v in values.items() if k in keys}} for values in enqueued]
    seen: set[str] = set()
    for params in variants:
        key = json.dumps(params, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            run_preflight(objective, params, name=config.objective)


def check_objective_params(config: StudyConfig) -> None:
    """Check fixed params and every space choice against the objective's parameter model."""
    objective = resolve_objective(config.objective)
    model: type[BaseModel] | None = getattr(objective, "params_model", None)
    if model is None:
        return
    sample: dict[str, Any] = dict(config.params)
    variants: list[tuple[str, dict[str, Any]]] = []
    for name, spec in config.space.items():
        if isinstance(spec, CategoricalParam):
            sample[name] = spec.choices[0]
            variants += [(f"space -> {name}", {name: choice}) for choice in spec.choices]
        else:
            sample[name] = spec.low
            variants += [
                (f"space -> {name}", {name: spec.low}),
                (f"space -> {name}", {name: spec.high}),
            ]
    _validate(model, sample, config)
    for where, change in variants:
        _validate(model, {**sample, **change}, config, where=where)


def _validate(
    model: type[BaseModel], values: dict[str, Any], config: StudyConfig, where: str | None = None
) -> None:
    try:
        model.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        place = where or (f"space -> {name}" if name in config.space else f"params -> {name}")
        message = "unknown parameter" if first["type"] == "extra_forbidden" else first["msg"]
        known = list(model.model_fields)
        hint = did_you_mean(name, known) if name not in known else ""
        raise SweeperError(f"{place}: {message} for objective '{config.objective}'{hint}") from None


def parse_enqueued(text: str, config: StudyConfig) -> dict[str, Any]:
    """One `--enqueue` JSON object: space values, plus fixed params overridden for that trial."""
    try:
        values = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as error:
        raise SweeperError(f"--enqueue: not a JSON object ({error})") from None
    if not isinstance(values, dict):
        raise SweeperError("--enqueue: must be a non-empty JSON object of parameter values")
    return check_enqueued(values, config, where="--enqueue")


def check_enqueued(values: dict[str, Any], config: StudyConfig, *, where: str) -> dict[str, Any]:
    """A parameter set to queue must name only space or params keys, with finite values; an
    optional `name` (text) labels the trial it becomes."""
    if not values:
        raise SweeperError(f"{where}: must be a non-empty object of parameter values")
    named = TRIAL_NAME_ATTR in values and TRIAL_NAME_ATTR not in config.space
    if named and not isinstance(values[TRIAL_NAME_ATTR], str):
        raise SweeperError(f"{where}: '{TRIAL_NAME_ATTR}' must be text")
    unknown = [
        key
        for key in values
        if key not in config.space and key not in config.params and key != TRIAL_NAME_ATTR
    ]
    if unknown:
        raise SweeperError(f"{where}: '{unknown[0]}' is neither in space nor in params")
    for key, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise SweeperError(f"{where}: '{key}' must be finite")
    return values


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed")


def create(plan: LaunchPlan) -> optuna.Study:
    """Create the study (or check it matches its file) and queue the given parameter sets."""
    storage = open_storage(plan.storage_url)
    use_study_heartbeat(storage, plan.config)
    study = create_or_continue(storage, plan.config)
    enqueue_trials(study, plan.config, plan.enqueued)
    return study


def launch(plan: LaunchPlan, options: RunOptions, console: Console) -> int:
    """Create or continue the study, enqueue, and run workers until the target; exit code.

    Launching a study that its failure budget stopped continues it with a fresh budget (the
    pre-flight has just passed)."""
    devices = assign_devices(
        parse_devices(options.devices), options.workers, options.trials_per_device
    )
    if plan.already_finished is not None:
        name, target = plan.config.study, plan.config.n_trials
        flag = storage_flag(plan.storage_url)
        line = nothing_to_do_line(plan.already_finished, target, name, flag)
        console.print(line, markup=False, highlight=False)
        return ExitCode.OK
    try:
        study = create(plan)
        _restart_if_stopped(study, console)
        _say_if_joining(study, len(devices), console)
    except StorageFault as fault:
        return _report_fault(fault)
    return follow(plan.storage_url, study, plan.config, devices, options, console)


def _say_if_joining(study: optuna.Study, workers: int, console: Console) -> None:
    """One line when another launch or worker is running the study: this launch joins it."""
    in_flight = trials_in_flight(study)
    if in_flight and finished_count(study) < target_of(study):
        console.print(
            f"study {study.study_name} is already running ({in_flight} trial"
            f"{'s' if in_flight != 1 else ''} in flight); joining it with {workers} worker"
            f"{'s' if workers != 1 else ''}",
            markup=False,
            highlight=False,
        )


def _restart_if_stopped(study: optuna.Study, console: Console) -> None:
    """Clear a failure-budget stop, saying what it was."""
    stopped = clear_stop(study)
    if stopped is not None:
        was = stop_message(study.study_name, stopped).removeprefix(f"study {study.study_name} ")
        console.print(f"study {study.study_name} was {was}; continuing", highlight=False)


def _report_fault(fault: StorageFault) -> int:
    """One line for a storage that is away or cannot take writes; exit code 3."""
    print(f"error: {fault}", file=sys.stderr, flush=True)
    return ExitCode.STORAGE


def resume(
    storage_url: str,
    study_name: str,
    options: RunOptions,
    console: Console,
    *,
    n_trials: int | None = None,
    add_trials: int | None = None,
) -> int:
    """Fail the stale RUNNING trials of dead workers (they are re-queued) and finish the study;
    `n_trials` sets a new target, `add_trials` raises the target by that many trials."""
    if n_trials is not None and add_trials is not None:
        raise SweeperError("resume: use --n-trials N (a new target) or --add-trials N, not both")
    devices = assign_devices(
        parse_devices(options.devices), options.workers, options.trials_per_device
    )
    _, study, config = open_study(storage_url, study_name)
    try:
        recovered = recover_orphans(
            study, config.heartbeat.max_retry, grace_period=config.heartbeat.grace_period
        )
        _restart_if_stopped(study, console)
        _change_target(study, n_trials, add_trials, console)
    except StorageFault as fault:
        return _report_fault(fault)
    if recovered:
        console.print(f"re-queued trials of dead workers: {recovered}", highlight=False)
    return follow(storage_url, study, config, devices, options, console)


def _change_target(
    study: optuna.Study, n_trials: int | None, add_trials: int | None, console: Console
) -> None:
    """Set the target from `--n-trials` or raise it by `--add-trials`, saying so."""
    old = target_of(study)
    new = n_trials if n_trials is not None else old + add_trials if add_trials else old
    if new != old:
        set_target(study, new)
        console.print(f"target: {old} -> {new} trials", markup=False, highlight=False)


def follow(
    storage_url: str,
    study: optuna.Study,
    config: StudyConfig,
    devices: list[str],
    options: RunOptions,
    console: Console,
) -> int:
    """Run the worker pool and show progress until the workers are done."""
    timeout = options.timeout if options.timeout is not None else config.timeout
    deadline = time.time() + timeout if timeout else None
    threads = options.threads or max(1, (os.cpu_count() or 1) // len(devices))
    target = target_of(study)
    flag = storage_flag(storage_url)
    trials = study.get_trials(deepcopy=False)
    finished = sum(t.state in FINISHED for t in trials)
    if finished >= target:
        console.print(
            nothing_to_do_line(finished, target, study.study_name, flag),
            markup=False,
            highlight=False,
        )
        return ExitCode.OK
    console.print(
        header_line(study.study_name, redact_url(storage_url), devices, target, finished),
        markup=False,
        highlight=False,
    )
    pool = WorkerPool(
        storage_url=storage_url,
        study_name=study.study_name,
        devices=devices,
        threads=threads,
        deadline=deadline,
        verbose=options.verbose,
    )
    received: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        if not received:
            pool.signal_all(signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)
        received.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with progress_view(
            study=study.study_name,
            health=config.pruner.health,
            quiet=options.quiet,
            target=target,
            metric=config.metric,
            direction=config.direction,
            console=console,
            already=trials,
        ) as view:
            pool.start()
            while True:
                alive = pool.poll(lambda: finished_count(study) >= target or bool(received))
                view.update(study.get_trials(deepcopy=False))
                if not alive:
                    break
                time.sleep(POLL_S)
            # a stopped worker's trial checkpoints first (bounded by the grace period)
            pool.wait(timeout_s=max(120.0, config.heartbeat.grace_period + 30.0))
            recover_orphans(
                study, config.heartbeat.max_retry, grace_period=config.heartbeat.grace_period
            )
            view.update(study.get_trials(deepcopy=False))
    except Exception as error:
        outage = storage_outage_in(error)
        if outage is None:
            raise
        # The storage stayed away past the bound or cannot take writes: stop the workers
        # (their trials in flight stay RUNNING until the heartbeat or `sweeper resume`
        # re-queues them) and say so.
        pool.signal_all(signal.SIGTERM)
        pool.wait()
        return _report_fault(outage)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    finished = finished_count(study)
    if received:
        line = stopped_line(finished, target, study.study_name, flag)
        console.print(line, markup=False, highlight=False)
        return ExitCode.for_signal(received[0])
    if finished >= target:
        _say_done(study, config, target, view.elapsed, flag, console)
        return ExitCode.OK
    stopped = stopped_of(study)
    if stopped is not None:
        raise StudyStopped(stop_message(study.study_name, stopped))
    if deadline is not None and time.time() >= deadline:
        _say_done(study, config, target, view.elapsed, flag, console)
        return ExitCode.OK
    if ExitCode.STORAGE in pool.failed_codes:
        return ExitCode.STORAGE
    return ExitCode.BUG if pool.failed_codes else ExitCode.OK


def _say_done(
    study: optuna.Study,
    config: StudyConfig,
    target: int,
    elapsed: float,
    flag: str,
    console: Console,
) -> None:
    """The closing line: counts, the best trial and the next command."""
    line = closing_line(
        study.get_trials(deepcopy=False),
        study=study.study_name,
        target=target,
        metric=config.metric,
        direction=config.direction,
        elapsed=elapsed,
        storage_flag=flag,
    )
    console.print(line, markup=False, highlight=False)
