"""`nonfinite`: NaN or inf in the loss, a loss component, a norm, the embeddings, the graph or
the metric."""

from __future__ import annotations

import math

from sweeper.health.rules.base import Evidence, Rule, RuleConfig, Verdict
from sweeper.health.series import HealthSeries

NAME = "nonfinite"
# Checked for NaN/inf in this order, so the message names the first cause (loss before value);
# each loss component (`loss.<term>`) is checked right after the loss.
_FIRST = ("loss",)
_LAST = (
    "grad_norm",
    "param_norm",
    "update_ratio",
    "embedding_cosine_mean",
    "embedding_rank_ratio",
    "score_gap",
    "acyclicity",
    "value",
)


class NonfiniteRule(RuleConfig):
    """Prune as soon as the loss, a loss component, the gradient or parameter norm, the
    embeddings or the metric is NaN or infinite."""


def check(rule: NonfiniteRule, evidence: Evidence) -> Verdict | None:
    """NaN or inf in the loss, a loss component, a norm, the embeddings, the graph or the metric."""
    series, metric, epoch = evidence.series, evidence.metric, evidence.epoch
    if not rule.enabled or epoch <= rule.warmup:
        return None
    names = [*_FIRST, *(n for n in series.names() if n.startswith("loss.")), *_LAST]
    # The usual call judges the epoch just recorded: its row is the last one, so the index of
    # every epoch's row is built only when the epoch is sick and earlier epochs are counted.
    last = series.last_epoch == epoch
    rows = {epoch: len(series.epochs) - 1} if last else _rows(series)

    def first_nonfinite(at: int) -> tuple[str, float] | None:
        for name in names:
            value = metric.get(at) if name == "value" else _at(series, name, rows.get(at))
            if value is not None and not math.isfinite(value):
                return name, value
        return None

    current = first_nonfinite(epoch)
    if current is None:
        return None
    if last:
        rows = _rows(series)
    epochs = sorted({*series.epochs, *metric})
    count = 0
    for at in reversed([e for e in epochs if rule.warmup < e <= epoch]):
        if first_nonfinite(at) is None:
            break
        count += 1
    if count < rule.patience:
        return None
    return Verdict(NAME, current[0], current[1], "is not", "finite", epoch, count)


def _rows(series: HealthSeries) -> dict[int, int]:
    """The row of each epoch in the series."""
    return {e: i for i, e in enumerate(series.epochs)}


def _at(series: HealthSeries, name: str, row: int | None) -> float | None:
    return None if row is None or not series.has(name) else series.values(name)[row]


RULE = Rule(
    name=NAME,
    config=NonfiniteRule,
    check=check,
    description=(
        "loss, a loss term, a gradient, a parameter, the embeddings or the metric is NaN/inf"
    ),
    signals=(*_FIRST, "loss.<term>", *_LAST),
    threshold="-",
)
