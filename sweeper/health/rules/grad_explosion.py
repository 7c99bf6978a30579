"""`grad_explosion`: the epoch's mean pre-clip gradient norm stays above a threshold."""

from __future__ import annotations

from pydantic import Field

from sweeper.health.rules.base import Rule, RuleConfig, threshold_check, threshold_limits

NAME = "grad_explosion"


class GradExplosionRule(RuleConfig):
    """Prune when the epoch's mean pre-clip gradient norm stays above `threshold`.

    1e4 is four orders of magnitude above the O(1) norms of a healthy mean-reduced loss (the
    write-up's fixed run: 0.3-2.5) and below its exploding one (46,767).
    """

    threshold: float = Field(default=1e4, gt=0, allow_inf_nan=False)
    patience: int = Field(default=2, ge=1)


RULE = Rule(
    NAME,
    GradExplosionRule,
    threshold_check(NAME, "grad_norm", ">"),
    description="`grad_norm` > threshold",
    signals=("grad_norm",),
    limits=threshold_limits(NAME, ("grad_norm",), ">"),
)
