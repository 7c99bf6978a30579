"""The health rules: pure functions of a trial's per-epoch signals that return a verdict.

A verdict's message reads `rule: signal=value op threshold at epoch E (for k epochs)`, e.g.
`grad_explosion: grad_norm=4.7e+04 > 1e+04 at epoch 3 (for 2 epochs)`; the rule name comes first
so `sweeper status` can tally it. A rule ignores the first `warmup` epochs and fires when its
condition held at the current epoch and at the `patience - 1` epochs before it that carry the
signal (epochs without the signal, e.g. between evaluations, are skipped, not counted).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sweeper.health.config import HealthConfig, RuleConfig
from sweeper.health.formatting import sci_against, sci_exact
from sweeper.health.series import HealthSeries
from sweeper.trial_attrs import parse_prune_reason

RULE_NAMES = (
    "nonfinite",
    "grad_explosion",
    "grad_vanishing",
    "embedding_collapse",
    "edge_collapse",
    "loss_imbalance",
    "no_progress",
    "loss_stall",
)

# Checked for NaN/inf in this order, so the message names the first cause (loss before value).
_NONFINITE_FIRST = ("loss",)
_NONFINITE_LAST = (
    "grad_norm",
    "param_norm",
    "update_ratio",
    "embedding_cosine_mean",
    "embedding_rank_ratio",
    "score_gap",
    "acyclicity",
    "value",
)

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": lambda v, t: v > t,
    "<": lambda v, t: v < t,
    "<=": lambda v, t: v <= t,
}


@dataclass(frozen=True)
class Verdict:
    """A rule that fired: which signal, its value, the threshold, when and for how long."""

    rule: str
    signal: str
    value: float
    op: str
    threshold: str  # as text: a number, or "finite" for the nonfinite rule
    epoch: int
    epochs: int

    @property
    def message(self) -> str:
        """`rule: signal=value op threshold at epoch E (for k epochs)`, numbers in sci notation."""
        value = sci_against(self.value, self.threshold)
        unit = "epoch" if self.epochs == 1 else "epochs"
        return (
            f"{self.rule}: {self.signal}={value} {self.op} {self.threshold} "
            f"at epoch {self.epoch} (for {self.epochs} {unit})"
        )


def is_health_reason(reason: object) -> bool:
    """Whether a prune_reason attribute names one of the health rules."""
    return isinstance(reason, str) and parse_prune_reason(reason)[0] in RULE_NAMES


def evaluate(
    config: HealthConfig,
    series: HealthSeries,
    metric: Mapping[int, float],
    *,
    epoch: int,
    maximize: bool,
) -> Verdict | None:
    """The first rule, in `RULE_NAMES` order, that fires at `epoch`; None when the trial is healthy.

    `metric` maps epochs to the reported metric values (the trial's intermediate values).
    """
    checks: list[Callable[[], Verdict | None]] = [
        lambda: nonfinite(config.nonfinite, series, metric, epoch),
        lambda: threshold_rule(
            "grad_explosion", config.grad_explosion, series, "grad_norm", ">", epoch
        ),
        lambda: threshold_rule(
            "grad_vanishing", config.grad_vanishing, series, _vanishing_signal(series), "<", epoch
        ),
        lambda: embedding_collapse(config, series, epoch),
        lambda: edge_collapse(config, series, epoch),
        lambda: threshold_rule(
            "loss_imbalance", config.loss_imbalance, series, "loss_imbalance", ">", epoch
        ),
        lambda: no_progress(config, series, metric, epoch, maximize),
        lambda: loss_stall(config, series, epoch),
    ]
    for check in checks:
        verdict = check()
        if verdict is not None:
            return verdict
    return None


def nonfinite(
    rule: RuleConfig, series: HealthSeries, metric: Mapping[int, float], epoch: int
) -> Verdict | None:
    """NaN or inf in the loss, a loss component, a norm, the embeddings, the graph or the metric."""
    if not rule.enabled or epoch <= rule.warmup:
        return None
    names = [
        *_NONFINITE_FIRST,
        *(n for n in series.names() if n.startswith("loss.")),
        *_NONFINITE_LAST,
    ]
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
    return Verdict("nonfinite", current[0], current[1], "is not", "finite", epoch, count)


def threshold_rule(
    name: str,
    rule: RuleConfig,
    series: HealthSeries,
    signal: str,
    op: str,
    epoch: int,
    threshold: float | None = None,
) -> Verdict | None:
    """`signal op threshold` at `epoch` and at the `patience - 1` epochs before that carry it
    (`threshold`: the rule's own unless given)."""
    if threshold is None:
        threshold = getattr(rule, "threshold", None)
    if not rule.enabled or threshold is None or series.last_epoch != epoch:
        return None
    current = series.latest(signal)
    compare = _OPS[op]
    if current is None or not compare(current, threshold):
        return None
    count = 0
    for at, value in zip(reversed(series.epochs), reversed(series.values(signal)), strict=True):
        if at <= rule.warmup:
            break
        if value is None:
            continue
        if not compare(value, threshold):
            break
        count += 1
    if count < rule.patience:
        return None
    return Verdict(name, signal, current, op, sci_exact(threshold), epoch, count)


_COLLAPSE_SIGNALS = {
    "cosine": ("embedding_cosine_mean", ">"),
    "rank": ("embedding_rank_ratio", "<"),
}


def embedding_collapse(config: HealthConfig, series: HealthSeries, epoch: int) -> Verdict | None:
    """Mean pairwise cosine above its threshold, or RankMe rank ratio below its threshold."""
    rule = config.embedding_collapse
    for signal, threshold in rule.thresholds().items():
        name, op = _COLLAPSE_SIGNALS[signal]
        verdict = threshold_rule("embedding_collapse", rule, series, name, op, epoch, threshold)
        if verdict is not None:
            return verdict
    return None


def edge_collapse(config: HealthConfig, series: HealthSeries, epoch: int) -> Verdict | None:
    """A learned graph that had edges above the threshold keeps at most `threshold` of them."""
    rule = config.edge_collapse
    if not rule.enabled or series.latest("edges") is None:
        return None  # what threshold_rule would answer, without reading the whole column
    edges = [v for v in series.values("edges") if v is not None]
    if not edges or max(edges) <= rule.threshold:
        return None  # never had edges: slow growth, not collapse
    return threshold_rule("edge_collapse", rule, series, "edges", "<=", epoch)


def no_progress(
    config: HealthConfig,
    series: HealthSeries,
    metric: Mapping[int, float],
    epoch: int,
    maximize: bool,
) -> Verdict | None:
    """The metric stayed within `threshold` for `patience` epochs, is no better than its first
    value, and the training loss is not falling either (see `NoProgressRule`)."""
    rule = config.no_progress
    now = metric.get(epoch)
    if not rule.enabled or now is None or not math.isfinite(now) or epoch <= rule.warmup:
        return None
    first = min((e, v) for e, v in metric.items() if e <= epoch and math.isfinite(v))[1]
    improved = now > first + rule.threshold if maximize else now < first - rule.threshold
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
    if _loss_improved(series, start, epoch, rule.min_loss_improvement):
        return None
    return Verdict(
        "no_progress", "value_range", high - low, "<=", sci_exact(rule.threshold), epoch, span
    )


def loss_stall(config: HealthConfig, series: HealthSeries, epoch: int) -> Verdict | None:
    """By epoch `patience` of the loss, no epoch since the first improved on it by more than
    `min_improvement` (see `LossStallRule`)."""
    rule = config.loss_stall
    if not rule.enabled or series.last_epoch != epoch or series.latest("loss") is None:
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
    return Verdict("loss_stall", "loss_change", change, ">", threshold, epoch, len(losses))


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


def _vanishing_signal(series: HealthSeries) -> str:
    """The smallest per-layer gradient norm, or the total norm when there are no layer figures."""
    return "layer_grad_norm_min" if series.has("layer_grad_norm_min") else "grad_norm"


def _rows(series: HealthSeries) -> dict[int, int]:
    """The row of each epoch in the series."""
    return {e: i for i, e in enumerate(series.epochs)}


def _at(series: HealthSeries, name: str, row: int | None) -> float | None:
    return None if row is None or not series.has(name) else series.values(name)[row]
