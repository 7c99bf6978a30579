"""A condition on one parameter, as a person states it: `lr > 0.04`, `norm = none`,
`num_layers >= 3`, and a region as the conditions that all hold.

A numeric condition is the interval `low < value <= high` (either end open), a categorical one
the set of choices it allows. Thresholds are shown with the fewest significant digits that still
separate the same trials, so a region reads `lr > 0.04`, not `lr > 0.0398107`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sweeper.config import CategoricalParam, FloatParam, IntParam

SearchParam = FloatParam | IntParam | CategoricalParam


def short_number(value: float) -> str:
    """A number as a person writes it: `0.04`, `3`, `1e-05`."""
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.6g}"


def threshold_between(below: float, above: float, *, log: bool) -> float:
    """The roundest number in [below, above): a cut `value <= cut` / `value > cut` between two
    observed values that separates them exactly as their midpoint (geometric on a log scale)."""
    middle = math.sqrt(below * above) if log and below > 0 else (below + above) / 2
    for digits in range(1, 16):
        rounded = float(f"{middle:.{digits}g}")
        if below <= rounded < above:
            return rounded
    return below


def choice_text(choice: Any) -> str:
    """A categorical choice as the study file writes it (`none`, `0.1`, `true`, `null`)."""
    if choice is None:
        return "null"
    if isinstance(choice, bool):
        return "true" if choice else "false"
    return str(choice)


@dataclass(frozen=True)
class Condition:
    """`low < param <= high` for a numeric parameter, `param in choices` for a categorical one."""

    param: str
    low: float | None = None  # exclusive; None: unbounded
    high: float | None = None  # inclusive; None: unbounded
    choices: tuple[Any, ...] | None = None  # categorical only
    integer: bool = False

    def holds(self, value: Any) -> bool:
        """Whether a trial's value of the parameter meets the condition."""
        if self.choices is not None:
            return value in self.choices
        if self.low is not None and not value > self.low:
            return False
        return self.high is None or value <= self.high

    def text(self) -> str:
        """`lr > 0.04`, `0.001 < lr <= 0.04`, `num_layers >= 3`, `norm = none`."""
        if self.choices is not None:
            if len(self.choices) == 1:
                return f"{self.param} = {choice_text(self.choices[0])}"
            return f"{self.param} in {{{', '.join(choice_text(c) for c in self.choices)}}}"
        if self.integer:
            low = None if self.low is None else math.floor(self.low) + 1
            high = None if self.high is None else math.floor(self.high)
            if low is not None and high is not None:
                return (
                    f"{low} <= {self.param} <= {high}" if low != high else f"{self.param} = {low}"
                )
            return f"{self.param} >= {low}" if low is not None else f"{self.param} <= {high}"
        low_text = None if self.low is None else short_number(self.low)
        high_text = None if self.high is None else short_number(self.high)
        if low_text is not None and high_text is not None:
            return f"{low_text} < {self.param} <= {high_text}"
        return (
            f"{self.param} > {low_text}" if low_text is not None else f"{self.param} <= {high_text}"
        )

    def as_dict(self) -> dict[str, Any]:
        """The condition as JSON: its text and bounds or choices."""
        if self.choices is not None:
            return {"param": self.param, "text": self.text(), "choices": list(self.choices)}
        return {"param": self.param, "text": self.text(), "above": self.low, "at_most": self.high}


def region_holds(conditions: Sequence[Condition], params: dict[str, Any]) -> bool:
    """Whether every condition holds for a trial's parameters."""
    return all(condition.holds(params[condition.param]) for condition in conditions)


def region_text(conditions: Sequence[Condition]) -> str:
    """The conditions joined as a person reads them: `lr > 0.04 and norm = none`."""
    return " and ".join(condition.text() for condition in conditions)
