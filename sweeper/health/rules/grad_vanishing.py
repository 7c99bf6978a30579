"""`grad_vanishing`: some layer's gradient norm stays below a threshold for whole epochs."""

from __future__ import annotations

from pydantic import Field

from sweeper.health.rules.base import (
    Evidence,
    Rule,
    RuleConfig,
    Verdict,
    threshold_limits,
    threshold_rule,
)
from sweeper.health.series import HealthSeries

NAME = "grad_vanishing"


class GradVanishingRule(RuleConfig):
    """Prune when some layer's gradient norm stays below `threshold` for a whole epoch.

    1e-8 is Adam's epsilon and, times any sane learning rate, below the float32 resolution of an
    O(1) weight: such a layer no longer learns (dead ReLUs, all-zero weights).
    """

    threshold: float = Field(default=1e-8, ge=0, allow_inf_nan=False)
    patience: int = Field(default=3, ge=1)


def check(rule: GradVanishingRule, evidence: Evidence) -> Verdict | None:
    """The smallest layer gradient norm (or the total norm) below the threshold."""
    series = evidence.series
    return threshold_rule(NAME, rule, series, _signal(series), "<", evidence.epoch)


def _signal(series: HealthSeries) -> str:
    """The smallest per-layer gradient norm, or the total norm when there are no layer figures."""
    return "layer_grad_norm_min" if series.has("layer_grad_norm_min") else "grad_norm"


RULE = Rule(
    name=NAME,
    config=GradVanishingRule,
    check=check,
    description="a layer's gradient norm < threshold",
    signals=("layer_grad_norm_min", "grad_norm"),
    limits=threshold_limits(NAME, ("layer_grad_norm_min", "grad_norm"), "<"),
)
