"""`loss_imbalance`: one weighted loss term dwarfs another (off by default)."""

from __future__ import annotations

from pydantic import Field

from sweeper.health.rules.base import Rule, RuleConfig, threshold_check, threshold_limits

NAME = "loss_imbalance"


class LossImbalanceRule(RuleConfig):
    """Prune when the largest weighted loss component stays more than `threshold` times the
    smallest non-zero one. Off by default: a healthy NOTEARS-style run reaches 1e10 while its
    acyclicity term converges towards zero, so no threshold separates it from a sick one; switch
    it on (`loss_imbalance: true`) for objectives whose terms should stay comparable.
    """

    enabled: bool = False
    threshold: float = Field(default=1e8, ge=1, allow_inf_nan=False)
    patience: int = Field(default=10, ge=1)
    warmup: int = Field(default=5, ge=0)


RULE = Rule(
    NAME,
    LossImbalanceRule,
    threshold_check(NAME, "loss_imbalance", ">"),
    description=(
        "largest / smallest weighted loss term > threshold (off by default: healthy runs reach 1e9)"
    ),
    signals=("loss_imbalance",),
    limits=threshold_limits(NAME, ("loss_imbalance",), ">"),
)
