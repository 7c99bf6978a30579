"""End an epoch for `sweeper.context.TrialContext`: store the health signals, apply the rules,
report, prune.

Per epoch the context's `HealthSync` writes one user attribute per signal (`health.<signal>`: the
latest value, what optuna-dashboard shows while the trial runs) and one with the whole history
(`health_series`), throttled in workers.
The health rules judge each epoch here, once, on the live signals (the stored copy may be older).
A rule that fires prunes the trial with a finite stand-in value that ranks below healthy trials;
otherwise the value is reported and the study's pruner decides as usual: the trial carries
`health_judged_live`, so a HealthPruner asks only its base pruner.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, NoReturn, Protocol

import optuna
from optuna.study import StudyDirection

from sweeper.api import TrialContext
from sweeper.health.formatting import sci
from sweeper.health.penalty import stand_in_value
from sweeper.health.series import HealthSeries
from sweeper.health.shadow import record_would_prune
from sweeper.pruners.health import HealthPruner
from sweeper.trial_attrs import BASE_PRUNER_RULE, JUDGED_LIVE_ATTR, PRUNE_REASON_ATTR

if TYPE_CHECKING:
    from sweeper.health.sync import HealthSync

VALUE_SIGNAL = "value"  # the metric's reported value, kept in the series next to the signals
HEALTH_CONSTRAINT = "health"  # the constraint a health-pruned trial violates (infeasible feedback)


class ReportingContext(TrialContext, Protocol):
    """The objective's context plus what reporting keeps between epochs (`sweeper.context`)."""

    health_sync: HealthSync

    @property
    def health_series(self) -> HealthSeries:
        """The trial's health series so far."""

    def end_health_epoch(self, epoch: int) -> None:
        """Close the monitor's epoch into `health_series`."""

    would_prune: str | None
    """The first shadow-mode verdict's message (`pruner.health.mode: shadow`), else None."""
    judged_live_marked: bool
    """Whether the trial carries `JUDGED_LIVE_ATTR` yet (written once, before its first report)."""


def report_epoch(ctx: ReportingContext, epoch: int, value: float | None) -> None:
    """Record epoch `epoch`'s health and report `value` (None: an epoch without evaluation).

    Raises `optuna.TrialPruned` with the reason (also stored as user attribute prune_reason)
    when a health rule fires or, after a value is reported, when the base pruner says so.
    """
    trial = ctx.trial
    ctx.end_health_epoch(epoch)
    series = ctx.health_series
    if value is not None:
        value = float(value)
        series.record(epoch, {VALUE_SIGNAL: value})
    ctx.health_sync.write(trial, series)

    study = trial.study
    pruner = study.pruner
    if isinstance(pruner, HealthPruner):
        metric = metric_history(series)
        maximize = study.direction == StudyDirection.MAXIMIZE
        shadow = pruner.config.mode == "shadow"
        verdict = None
        if not (shadow and ctx.would_prune is not None):  # shadow: the first verdict only
            verdict = pruner.evaluate(series, metric, epoch=epoch, maximize=maximize)
        if verdict is not None and shadow:
            ctx.would_prune = verdict.message
            record_would_prune(trial, verdict)
        elif verdict is not None:
            ctx.health_sync.flush(trial, series)
            prune_for_health(trial, epoch, verdict.message, metric, infeasible=_infeasible(pruner))
        if value is not None and not ctx.judged_live_marked:  # before the trial's first report
            trial.set_user_attr(JUDGED_LIVE_ATTR, True)  # so `prune` leaves health to this verdict
            ctx.judged_live_marked = True

    if value is None:
        return
    trial.report(value, epoch)
    if trial.should_prune():
        base = pruner.base_pruner if isinstance(pruner, HealthPruner) else pruner
        shown = f"{ctx.metric}={sci(value)} at epoch {epoch} ({type(base).__name__})"
        reason = f"{BASE_PRUNER_RULE}: {shown}"
        ctx.health_sync.flush(trial, series)
        trial.set_user_attr(PRUNE_REASON_ATTR, reason)
        raise optuna.TrialPruned(reason)


def prune_trial(ctx: ReportingContext, epoch: int, reason: str) -> NoReturn:
    """Prune for a reason the objective found itself (`rule: detail`, e.g. a non-finite loss
    while the health rules are off) the way a health rule prunes: the epoch's health is written,
    a stand-in value is reported at `epoch` and the reason is stored."""
    series = ctx.health_series
    ctx.health_sync.flush(ctx.trial, series)
    pruner = ctx.trial.study.pruner
    infeasible = isinstance(pruner, HealthPruner) and _infeasible(pruner)
    prune_for_health(ctx.trial, epoch, reason, metric_history(series), infeasible=infeasible)


def _infeasible(pruner: HealthPruner) -> bool:
    return pruner.config.sampler_feedback == "infeasible"


def metric_history(series: HealthSeries) -> dict[int, float]:
    """The reported metric values by epoch, as the trial's intermediate values hold them."""
    return {
        epoch: value
        for epoch, value in zip(series.epochs, series.values(VALUE_SIGNAL), strict=True)
        if value is not None
    }


def prune_for_health(
    trial: optuna.Trial,
    epoch: int,
    reason: str,
    metric: Mapping[int, float],
    *,
    infeasible: bool = False,
) -> NoReturn:
    """Report a finite value below every healthy one at `epoch`, store the reason, and raise.

    With `infeasible`, the trial also violates a `health` constraint, so a constraint-aware
    sampler (TPE) ranks it below every feasible trial."""
    penalty = stand_in_value(trial.study, (v for v in metric.values() if math.isfinite(v)))
    trial.report(penalty, epoch)
    trial.set_user_attr(PRUNE_REASON_ATTR, reason)
    if infeasible:
        trial.set_constraint(HEALTH_CONSTRAINT, 1.0)
    raise optuna.TrialPruned(reason)
