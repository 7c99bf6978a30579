"""What the report and the dashboard figures read off one finished trial: epochs, seconds, why.

Light on purpose (no plotly): workers import it when they draw a trial's health curves.
"""

from __future__ import annotations

import math

from optuna.trial import FrozenTrial, TrialState

from sweeper.health.series import HealthSeries
from sweeper.trial_attrs import (
    BASE_PRUNER_RULE,
    PRUNE_REASON_ATTR,
    SERIES_ATTR,
    parse_prune_reason,
)

#: Signals plotted first, in this order; any other recorded signal follows in first-seen order.
SIGNAL_ORDER = (
    "value",
    "loss",
    "grad_norm",
    "update_ratio",
    "param_norm",
    "layer_grad_ratio",
    "embedding_rank_ratio",
    "embedding_cosine_mean",
    "score_gap",
    "edges",
    "acyclicity",
    "loss_imbalance",
)
LOG_SPAN = 100.0  # a positive signal spanning more than this factor is drawn on a log axis


def prune_rule(trial: FrozenTrial) -> str | None:
    """The rule that pruned the trial (the text before the first colon of prune_reason), or
    None for a trial that was not pruned."""
    if trial.state != TrialState.PRUNED:
        return None
    reason = str(trial.user_attrs.get(PRUNE_REASON_ATTR, BASE_PRUNER_RULE))
    return parse_prune_reason(reason)[0] or BASE_PRUNER_RULE


def health_series(trial: FrozenTrial) -> HealthSeries:
    """The trial's per-epoch health series (empty when it recorded none)."""
    return HealthSeries.from_json(trial.user_attrs.get(SERIES_ATTR))


def epochs_run(trial: FrozenTrial) -> int:
    """The last epoch the trial reached: its last reported step or last recorded health epoch."""
    steps = [int(step) for step in trial.intermediate_values]
    last = health_series(trial).last_epoch
    if last is not None:
        steps.append(last)
    return max(steps, default=0)


def seconds_run(trial: FrozenTrial) -> float | None:
    """Wall-clock seconds from start to finish, or None when either time is missing."""
    if trial.datetime_start is None or trial.datetime_complete is None:
        return None
    return max(0.0, (trial.datetime_complete - trial.datetime_start).total_seconds())


def plotted_signals(series_list: list[HealthSeries], limit: int = 12) -> list[str]:
    """The signals worth a panel: those recorded with at least one value, known ones first."""
    present: list[str] = []
    for series in series_list:
        for name in series.names():
            if name not in present and any(v is not None for v in series.values(name)):
                present.append(name)
    known = [name for name in SIGNAL_ORDER if name in present]
    return (known + [name for name in present if name not in known])[:limit]


def wants_log_axis(values: list[float | None]) -> bool:
    """Whether a signal's finite values are all positive and span more than LOG_SPAN."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite or min(finite) <= 0:
        return False
    return max(finite) / min(finite) > LOG_SPAN
