"""The health rules, one module each, registered here once in the order they are judged.

A rule is a `Rule` (`sweeper.health.rules.base`): its name, config model, check, one-line
description and the signals it reads. Everything else reads the registry: the study file's
`pruner.health` section (`sweeper.health.config.HealthConfig`), `evaluate`, which prune reasons
count as health prunes (`is_health_reason`), the report's colors and the README's rule table
(`tests/sweeper_tests/test_readme_rules.py`). Adding a rule is one module here, its line in
`RULES`, and its tests.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from sweeper.health.rules import (
    edge_collapse,
    embedding_collapse,
    grad_explosion,
    grad_vanishing,
    loss_imbalance,
    loss_stall,
    no_progress,
    nonfinite,
)
from sweeper.health.rules.base import Evidence, Rule, RuleConfig, Verdict
from sweeper.health.series import HealthSeries
from sweeper.trial_attrs import parse_prune_reason

__all__ = [
    "RULES",
    "RULE_NAMES",
    "Evidence",
    "Rule",
    "RuleConfig",
    "Verdict",
    "evaluate",
    "is_health_reason",
]

#: Every rule, in the order `evaluate` asks them (the first that fires names the prune).
RULES: tuple[Rule, ...] = (
    nonfinite.RULE,
    grad_explosion.RULE,
    grad_vanishing.RULE,
    embedding_collapse.RULE,
    edge_collapse.RULE,
    loss_imbalance.RULE,
    no_progress.RULE,
    loss_stall.RULE,
)
RULE_NAMES = tuple(rule.name for rule in RULES)
if len(set(RULE_NAMES)) != len(RULE_NAMES):
    raise ValueError(f"two rules share a name: {RULE_NAMES=}.")


def is_health_reason(reason: object) -> bool:
    """Whether a prune_reason attribute names one of the health rules."""
    return isinstance(reason, str) and parse_prune_reason(reason)[0] in RULE_NAMES


def evaluate(
    config: BaseModel,
    series: HealthSeries,
    metric: Mapping[int, float],
    *,
    epoch: int,
    maximize: bool,
) -> Verdict | None:
    """The first rule, in `RULES` order, that fires at `epoch`; None when the trial is healthy.

    `config` is a `HealthConfig` (one field per rule, named as the rule); `metric` maps epochs to
    the reported metric values (the trial's intermediate values).
    """
    evidence = Evidence(series, metric, epoch, maximize)
    for rule in RULES:
        verdict = rule.check(getattr(config, rule.name), evidence)
        if verdict is not None:
            return verdict
    return None
