"""`loss_stall`: the training loss has not fallen below its first value (off by default)."""

from __future__ import annotations

import math

from pydantic import Field

from sweeper.health.formatting import sci_exact
from sweeper.health.rules.base import Evidence, Rule, RuleConfig, Verdict

NAME = "loss_stall"
MIN_IMPROVEMENT = 0.01


class LossStallRule(RuleConfig):
    """Prune when the training loss, by epoch `patience`, has not fallen more than
    `min_improvement` (relative) below its first epoch's value at any epoch since: a run whose
    loss has not moved (a learning rate too small to learn, a dead model) or only grows.

    Off by default: on the wide link-prediction sweep, slow starters whose loss fell only
    0.2-0.8% in ten epochs finished 2nd and 3rd of 20, while the one that never learned fell
    0.1%; no default separates them safely. Switch it on with a threshold that fits your loss.
    """

    enabled: bool = False
    patience: int = Field(default=10, ge=2)
    min_improvement: float = Field(default=MIN_IMPROVEMENT, ge=0, lt=1, allow_inf_nan=False)


def check(rule: LossStallRule, evidence: Evidence) -> Verdict | None:
    """By epoch `patience` of the loss, no epoch since the first improved on it by more than
    `min_improvement` (see `LossStallRule`)."""
    series = evidence.series
    if not rule.enabled or series.last_epoch != evidence.epoch or series.latest("loss") is None:
        return None
    losses = [
        v
        for e, v in zip(series.epochs, series.values("loss"), strict=True)
        if e > rule.warmup and v is not None
    ]
    if len(losses) < rule.patience or not all(math.isfinite(v) for v in losses):
        return None  # too early, or a non-finite loss (the nonfinite rule's case)
    first, best = losses[0], min(losses[1:])
    if best < first - rule.min_improvement * abs(first):
        return None
    change = (best - first) / abs(first) if first else 0.0
    threshold = f"-{sci_exact(rule.min_improvement)}"
    return Verdict(NAME, "loss_change", change, ">", threshold, evidence.epoch, len(losses))


RULE = Rule(
    name=NAME,
    config=LossStallRule,
    check=check,
    description=(
        "the loss has not fallen more than `min_improvement` below its first epoch's value by "
        "epoch `patience` (off by default: slow starters that ended 2nd and 3rd of a 20-trial "
        "sweep fell only 0.2-0.8% in 10 epochs)"
    ),
    signals=("loss",),
    threshold=f"{MIN_IMPROVEMENT:.0%}",
)
