"""`no_progress`: the metric sits at its first value while the loss does not fall either (off by
default)."""

from __future__ import annotations

import math
import statistics

from pydantic import Field

from sweeper.health.formatting import sci_exact
from sweeper.health.rules.base import Evidence, Rule, RuleConfig, Verdict
from sweeper.health.series import HealthSeries

NAME = "no_progress"


class NoProgressRule(RuleConfig):
    """Prune when the metric has not moved by more than `threshold` for `patience` epochs (over
    at least `min_reports` reported values), is no better than its first value, and the training
    loss has not improved by more than `min_loss_improvement` (relative) over those epochs.

    A run that improved and then settled is converged, not stuck; a run whose metric is flat
    while its loss still falls is learning (e.g. edges still growing towards the threshold).
    Off by default: on the causal sweeps of `benchmarks/pruning.py` the SHD of runs that ended
    best in their study stayed flat at its first value for 20-30 epochs early on.
    """

    enabled: bool = False
    threshold: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    patience: int = Field(default=20, ge=1)
    min_reports: int = Field(default=3, ge=2)
    min_loss_improvement: float = Field(default=0.01, ge=0, allow_inf_nan=False)


def check(rule: NoProgressRule, evidence: Evidence) -> Verdict | None:
    """The metric stayed within `threshold` for `patience` epochs, is no better than its first
    value, and the training loss is not falling either (see `NoProgressRule`)."""
    metric, epoch = evidence.metric, evidence.epoch
    now = metric.get(epoch)
    if not rule.enabled or now is None or not math.isfinite(now) or epoch <= rule.warmup:
        return None
    first = min((e, v) for e, v in metric.items() if e <= epoch and math.isfinite(v))[1]
    if evidence.maximize:
        improved = now > first + rule.threshold
    else:
        improved = now < first - rule.threshold
    if improved:
        return None
    points = sorted((e, v) for e, v in metric.items() if e <= epoch and math.isfinite(v))
    low = high = now
    start, reports = epoch, 0
    for at, value in reversed(points):
        if at <= rule.warmup:
            break
        if max(high, value) - min(low, value) > rule.threshold:
            break
        low, high, start, reports = min(low, value), max(high, value), at, reports + 1
    span = epoch - start
    if span < rule.patience or reports < rule.min_reports:
        return None
    if _loss_improved(evidence.series, start, epoch, rule.min_loss_improvement):
        return None
    return Verdict(NAME, "value_range", high - low, "<=", sci_exact(rule.threshold), epoch, span)


def _loss_improved(series: HealthSeries, start: int, end: int, fraction: float) -> bool:
    """Whether the training loss fell by more than `fraction` of its size from `start` to `end`:
    the lowest loss of the window's second half against the median of its first quarter, so a
    single spike at either end (an augmented-Lagrangian step, a noisy batch) does not decide."""
    losses = [
        v
        for e, v in zip(series.epochs, series.values("loss"), strict=True)
        if start <= e <= end and v is not None and math.isfinite(v)
    ]
    if len(losses) < 2:
        return False
    head = statistics.median(losses[: max(1, len(losses) // 4)])
    tail = min(losses[len(losses) // 2 :])
    return head - tail > fraction * abs(head)


RULE = Rule(
    name=NAME,
    config=NoProgressRule,
    check=check,
    description=(
        "the metric has not moved from its first value for `patience` epochs and the loss has "
        "not fallen 1% (the lowest loss of the window's second half against the median of its "
        "first quarter, so one spike does not decide; **off by default**: the SHD of causal runs "
        "that ended best in their study sat at its first value for 20-30 epochs early on)"
    ),
    signals=("value", "loss"),
)
