"""A study as the live view shows it, built from its stored trials: progress and ETA, each running
trial with the two health signals nearest their rule's threshold, and the latest prunes.

Pure functions of the trials and the study's health config, so the board, `status --watch` and
the tests all read the same figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import optuna
from optuna.trial import TrialState

from sweeper.health.config import HealthConfig
from sweeper.health.rules import RULES
from sweeper.health.rules.base import Limit
from sweeper.health.series import from_json_value
from sweeper.progress import is_surplus, pruned_because
from sweeper.studies import FINISHED
from sweeper.trial_attrs import (
    DEVICE_ATTR,
    FAIL_REASON_ATTR,
    PRUNE_REASON_ATTR,
    SERIES_ATTR,
    SIGNAL_ATTR_PREFIX,
    TRIAL_NAME_ATTR,
    WORKER_ATTR,
)

__all__ = ["Closeness", "Prune", "RunningTrial", "StudySnapshot", "limits_of", "snapshot"]

#: Prunes (and failures) the board lists, newest first.
LAST_PRUNES = 5
#: Signals per running trial, nearest their threshold first.
NEAREST = 2


@dataclass(frozen=True)
class Closeness:
    """One signal's latest value against a rule's threshold; `headroom` is how many times it must
    still grow or shrink to reach it (1 at the threshold)."""

    limit: Limit
    value: float
    headroom: float

    @property
    def text(self) -> str:
        """`grad_norm 4.7e+03 (>1e+04: 2.1x away)`."""
        away = "past it" if self.headroom <= 1 else f"{_times(self.headroom)} away"
        return (
            f"{self.limit.signal} {self.value:.3g} "
            f"({self.limit.op}{self.limit.threshold:.3g}: {away})"
        )


def _times(ratio: float) -> str:
    if math.isinf(ratio):
        return "far"
    return f"{ratio:.2g}x" if ratio < 100 else f"{ratio:.0e}x".replace("e+0", "e")


@dataclass(frozen=True)
class RunningTrial:
    """A trial in flight: who runs it, how far it is, and its signals nearest a threshold."""

    number: int
    worker: str
    device: str
    epoch: int | None
    value: float | None
    nearest: tuple[Closeness, ...]
    name: str = ""


@dataclass(frozen=True)
class Prune:
    """A trial that a rule (or the base pruner) stopped, or that failed, and why."""

    number: int
    state: str
    reason: str


@dataclass(frozen=True)
class StudySnapshot:
    """Everything the live board draws, at one moment."""

    study: str
    metric: str
    target: int
    finished: int
    counts: dict[str, int]
    elapsed_s: float
    eta_s: float | None
    best_number: int | None
    best_value: float | None
    running: tuple[RunningTrial, ...] = field(default_factory=tuple)
    prunes: tuple[Prune, ...] = field(default_factory=tuple)


def limits_of(health: HealthConfig | None) -> tuple[Limit, ...]:
    """Every threshold the study's health rules watch (none when health pruning is off)."""
    if health is None:
        return ()
    watched: list[Limit] = []
    for rule in RULES:
        watched += rule.watched(getattr(health, rule.name))
    return tuple(watched)


def nearest_limits(
    trial: optuna.trial.FrozenTrial, limits: tuple[Limit, ...], count: int = NEAREST
) -> tuple[Closeness, ...]:
    """The trial's `count` latest stored signals nearest their thresholds (one per signal)."""
    found: dict[str, Closeness] = {}
    for limit in limits:
        value = from_json_value(trial.user_attrs.get(SIGNAL_ATTR_PREFIX + limit.signal))
        if value is None:
            continue
        near = Closeness(limit, value, limit.headroom(value))
        if limit.signal not in found or near.headroom < found[limit.signal].headroom:
            found[limit.signal] = near
    return tuple(sorted(found.values(), key=lambda c: c.headroom)[:count])


def _epoch(trial: optuna.trial.FrozenTrial) -> int | None:
    if trial.intermediate_values:
        return max(trial.intermediate_values)
    epochs = (trial.user_attrs.get(SERIES_ATTR) or {}).get("epoch") or []
    return int(epochs[-1]) if epochs else None


def running_trial(trial: optuna.trial.FrozenTrial, limits: tuple[Limit, ...]) -> RunningTrial:
    """A RUNNING trial as the board's row shows it."""
    values = trial.intermediate_values
    return RunningTrial(
        number=trial.number,
        worker=str(trial.user_attrs.get(WORKER_ATTR, "")),
        device=str(trial.user_attrs.get(DEVICE_ATTR, "")),
        epoch=_epoch(trial),
        value=values[max(values)] if values else None,
        nearest=nearest_limits(trial, limits),
        name=str(trial.user_attrs.get(TRIAL_NAME_ATTR, "")),
    )


def _duration(trial: optuna.trial.FrozenTrial) -> float | None:
    if trial.datetime_start is None or trial.datetime_complete is None:
        return None
    return (trial.datetime_complete - trial.datetime_start).total_seconds()


def eta_seconds(
    trials: list[optuna.trial.FrozenTrial], target: int, finished: int, parallel: int
) -> float | None:
    """Seconds to the target: the trials still to finish times the mean finished trial's
    duration, shared by the trials running in parallel (None before any trial finished)."""
    durations = [d for t in trials if t.state in FINISHED and (d := _duration(t)) is not None]
    if not durations:
        return None
    remaining = max(0, target - finished)
    return remaining * (sum(durations) / len(durations)) / max(1, parallel)


def _ended_at(trial: optuna.trial.FrozenTrial) -> datetime:
    return trial.datetime_complete or trial.datetime_start or datetime.min


def last_prunes(
    trials: list[optuna.trial.FrozenTrial], count: int = LAST_PRUNES
) -> tuple[Prune, ...]:
    """The newest pruned or failed trials, newest first, with their full reasons."""
    ended = [
        t
        for t in trials
        if t.state == TrialState.PRUNED or (t.state == TrialState.FAIL and not is_surplus(t))
    ]
    ended.sort(key=_ended_at, reverse=True)
    prunes = []
    for trial in ended[:count]:
        if trial.state == TrialState.PRUNED:
            reason = str(trial.user_attrs.get(PRUNE_REASON_ATTR) or pruned_because(trial))
        else:
            reason = str(trial.user_attrs.get(FAIL_REASON_ATTR, "failed"))
        prunes.append(Prune(trial.number, trial.state.name, reason))
    return tuple(prunes)


def snapshot(
    trials: list[optuna.trial.FrozenTrial],
    *,
    study: str,
    metric: str,
    direction: str,
    target: int,
    health: HealthConfig | None,
    elapsed_s: float,
) -> StudySnapshot:
    """The study at this moment, as the live board draws it."""
    from sweeper.progress import best_of

    counted = [t for t in trials if not is_surplus(t)]
    counts = {s.name: sum(t.state == s for t in counted) for s in TrialState}
    finished = counts["COMPLETE"] + counts["PRUNED"]
    limits = limits_of(health)
    running = tuple(
        running_trial(t, limits)
        for t in sorted(counted, key=lambda t: t.number)
        if t.state == TrialState.RUNNING
    )
    best = best_of(trials, direction)
    return StudySnapshot(
        study=study,
        metric=metric,
        target=target,
        finished=finished,
        counts=counts,
        elapsed_s=elapsed_s,
        eta_s=eta_seconds(counted, target, finished, len(running)),
        best_number=None if best is None else best.number,
        best_value=None if best is None else best.value,
        running=running,
        prunes=last_prunes(counted),
    )
