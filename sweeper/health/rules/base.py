"""What every health rule is made of: its config (`RuleConfig`), what it judges (`Evidence`),
what it answers (`Verdict`) and its declaration (`Rule`), plus the threshold check most rules are.

A verdict's message reads `rule: signal=value op threshold at epoch E (for k epochs)`, e.g.
`grad_explosion: grad_norm=4.7e+04 > 1e+04 at epoch 3 (for 2 epochs)`; the rule name comes first
so `sweeper status` can tally it. A rule ignores the first `warmup` epochs and fires when its
condition held at the current epoch and at the `patience - 1` epochs before it that carry the
signal (epochs without the signal, e.g. between evaluations, are skipped, not counted).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sweeper.health.formatting import sci_against, sci_exact
from sweeper.health.series import HealthSeries

__all__ = [
    "Evidence",
    "Limit",
    "Rule",
    "RuleConfig",
    "Verdict",
    "threshold_check",
    "threshold_limits",
    "threshold_rule",
]


class RuleConfig(BaseModel):
    """What every rule has: on/off, consecutive epochs before it fires, epochs it ignores."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    patience: int = Field(default=1, ge=1)
    warmup: int = Field(default=0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _switch(cls, data: Any) -> Any:
        """`rule: false` switches a rule off; `rule: true` keeps its defaults."""
        if isinstance(data, bool):
            return {"enabled": data}
        return data


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


@dataclass(frozen=True)
class Evidence:
    """What a rule judges: the trial's signals, its reported metric values by epoch (the trial's
    intermediate values), the epoch to judge and the study's direction."""

    series: HealthSeries
    metric: Mapping[int, float]
    epoch: int
    maximize: bool


@dataclass(frozen=True)
class Limit:
    """A threshold a rule watches: the rule fires once `signal op threshold` holds (for its
    patience). The live view ranks a running trial's signals by how far they are from theirs.

    `near_one` marks a signal bounded by 1 (a cosine): its distance is measured on `1 - value`,
    so 0.98 against 0.999 reads 20x away, not 2% away.
    """

    rule: str
    signal: str
    op: str
    threshold: float
    near_one: bool = False

    def headroom(self, value: float) -> float:
        """How many times the value must still grow (`>`) or shrink (`<`, `<=`) to reach the
        threshold: 1.0 at the threshold, below 1 past it, `inf` when it cannot be measured."""
        import math

        if not math.isfinite(value):
            return 0.0
        value, threshold, op = self.value_and_threshold(value)
        if op == ">":
            return threshold / value if value > 0 else math.inf
        if threshold <= 0:  # `edges <= 0`: a count's distance to zero is the count itself
            return value + 1.0 if value >= 0 else 0.0
        return value / threshold

    def value_and_threshold(self, value: float) -> tuple[float, float, str]:
        """The value, threshold and comparison the headroom is measured on (`1 - x` and the
        flipped comparison for a `near_one` signal)."""
        if not self.near_one:
            return value, self.threshold, self.op
        flipped = {">": "<", "<": ">", "<=": ">"}[self.op]
        return 1.0 - value, 1.0 - self.threshold, flipped


C = TypeVar("C", bound=RuleConfig)


@dataclass(frozen=True)
class Rule(Generic[C]):
    """One health rule, declared once in its own module of `sweeper.health.rules`.

    `name` is its key in the study file's `pruner.health` section and the first word of its
    prune reasons; `config` its section's model (its defaults are the rule's defaults); `check`
    answers a `Verdict` when the rule fires; `description` is its "fires when" cell in the
    README's rule table; `signals` are what it reads; `threshold` is the table's default-threshold
    text (None: the config's default `threshold`, e.g. `1e4`).
    """

    name: str
    config: type[C]
    check: Callable[[C, Evidence], Verdict | None]
    description: str
    signals: tuple[str, ...]
    threshold: str | None = None
    limits: Callable[[C], tuple[Limit, ...]] | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"a rule's name must be an identifier, but got {self.name=}.")

    def watched(self, config: C) -> tuple[Limit, ...]:
        """The thresholds this rule watches under `config` (none when it is switched off or has
        no single threshold, e.g. `nonfinite`)."""
        if not config.enabled or self.limits is None:
            return ()
        return self.limits(config)

    def default_threshold(self) -> str:
        """The default threshold as the README's table writes it: `1e4`, `1e-8`, `0`."""
        if self.threshold is not None:
            return self.threshold
        value = float(self.config().threshold)  # type: ignore[attr-defined]
        if value == 0 or 1e-3 <= abs(value) < 1e4:
            return f"{value:g}"
        mantissa, _, exponent = sci_exact(value).partition("e")
        return f"{mantissa}e{int(exponent)}"


_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": lambda v, t: v > t,
    "<": lambda v, t: v < t,
    "<=": lambda v, t: v <= t,
}


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


def threshold_limits(
    name: str, signals: tuple[str, ...], op: str
) -> Callable[[Any], tuple[Limit, ...]]:
    """The limits of a rule that compares one of `signals` with its config's `threshold`."""

    def limits(rule: RuleConfig) -> tuple[Limit, ...]:
        threshold = getattr(rule, "threshold", None)
        if threshold is None:
            return ()
        return tuple(Limit(name, signal, op, float(threshold)) for signal in signals)

    return limits


def threshold_check(name: str, signal: str, op: str) -> Callable[[Any, Evidence], Verdict | None]:
    """The check of a rule that is just `signal op threshold` (the config's) for `patience`
    epochs, e.g. `threshold_check("grad_explosion", "grad_norm", ">")`."""

    def check(rule: RuleConfig, evidence: Evidence) -> Verdict | None:
        return threshold_rule(name, rule, evidence.series, signal, op, evidence.epoch)

    return check
