"""`edge_collapse`: a learned graph that had edges loses them (off by default)."""

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

NAME = "edge_collapse"


class EdgeCollapseRule(RuleConfig):
    """Prune when a learned graph that had edges decays to at most `threshold` edges above its
    edge threshold for `patience` epochs. A graph that has not grown edges yet (e.g. from a zero
    start at a small learning rate) is learning slowly, not collapsing, and is left to the other
    rules. Off by default: on the causal sweeps of `benchmarks/pruning.py` (five seeds), graphs
    emptied for 5-40 epochs after an augmented-Lagrangian step and regrew, three of them into
    their study's best or second-best graph; switch it on (`edge_collapse: true`) where an
    empty graph cannot recover."""

    enabled: bool = False
    threshold: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    patience: int = Field(default=30, ge=1)
    warmup: int = Field(default=5, ge=0)


def check(rule: EdgeCollapseRule, evidence: Evidence) -> Verdict | None:
    """A learned graph that had edges above the threshold keeps at most `threshold` of them."""
    series = evidence.series
    if not rule.enabled or series.latest("edges") is None:
        return None  # what threshold_rule would answer, without reading the whole column
    edges = [v for v in series.values("edges") if v is not None]
    if not edges or max(edges) <= rule.threshold:
        return None  # never had edges: slow growth, not collapse
    return threshold_rule(NAME, rule, series, "edges", "<=", evidence.epoch)


RULE = Rule(
    name=NAME,
    config=EdgeCollapseRule,
    check=check,
    description=(
        "a learned graph that had edges has none left (**off by default**: on the causal "
        "benchmark sweeps graphs emptied for 5-40 epochs after an augmented-Lagrangian step and "
        "regrew, three into their study's best or second-best graph; `edge_collapse: true` where "
        "an empty graph cannot recover)"
    ),
    signals=("edges",),
    limits=threshold_limits(NAME, ("edges",), "<="),
)
