"""A narrowed search space: the study's space with its sick regions cut out.

A region is a conjunction, so cutting any one of its conditions out of the space removes the
whole region. For each region the cut chosen is the one that removes the fewest healthy trials;
a cut is made only when it keeps the best trial in the space and removes at least as many sick
trials as healthy ones. A numeric cut moves one bound (to the step grid, for a stepped
parameter); a categorical cut drops choices (at least one stays). Every change keeps its
evidence, the region's sentence, for the comment the narrowed study file carries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sweeper.config import CategoricalParam, FloatParam, IntParam
from sweeper.doctor.conditions import Condition, SearchParam, choice_text, short_number
from sweeper.doctor.outcomes import Outcome
from sweeper.doctor.regions import Region


@dataclass(frozen=True)
class Change:
    """One parameter's range shrunk or choices dropped, and why."""

    param: str
    before: SearchParam
    after: SearchParam
    region: Region
    sick_removed: int
    healthy_removed: int

    def what(self) -> str:
        """`high 1 -> 0.04`, `low 1e-06 -> 0.001`, `drops none, graph_norm`."""
        before, after = self.before, self.after
        if isinstance(before, CategoricalParam) and isinstance(after, CategoricalParam):
            dropped = [c for c in before.choices if c not in after.choices]
            return "drops " + ", ".join(choice_text(c) for c in dropped)
        assert not isinstance(before, CategoricalParam) and not isinstance(after, CategoricalParam)
        if after.high != before.high:
            return f"high {short_number(before.high)} -> {short_number(after.high)}"
        return f"low {short_number(before.low)} -> {short_number(after.low)}"

    def comment(self) -> str:
        """The YAML comment above the changed parameter."""
        return (
            f"doctor: {self.what()}: {self.region.sentence()}; the cut removes "
            f"{self.sick_removed} sick and {self.healthy_removed} healthy trials"
        )

    def as_dict(self) -> dict[str, Any]:
        """The change as JSON."""
        return {
            "param": self.param,
            "change": self.what(),
            "before": self.before.model_dump(mode="json"),
            "after": self.after.model_dump(mode="json"),
            "evidence": self.region.sentence(),
            "sick_removed": self.sick_removed,
            "healthy_removed": self.healthy_removed,
        }


def inside(spec: SearchParam, value: Any) -> bool:
    """Whether a value lies in a parameter's range or among its choices."""
    if isinstance(spec, CategoricalParam):
        return value in spec.choices
    slack = 1e-12 * max(abs(spec.low), abs(spec.high), 1.0)
    return spec.low - slack <= value <= spec.high + slack


def _on_grid(spec: FloatParam | IntParam, bound: float, *, up: bool) -> float:
    """`bound` moved onto the parameter's step grid (up or down); unchanged without a step."""
    step = spec.step
    if step is None or (isinstance(spec, IntParam) and step == 1):
        return bound
    steps = (bound - spec.low) / step
    return spec.low + (math.ceil(steps - 1e-9) if up else math.floor(steps + 1e-9)) * step


def excluding(spec: SearchParam, condition: Condition) -> SearchParam | None:
    """The parameter's spec with the condition's part cut out, or None when no single bound or
    choice list can say it (a two-sided interval) or nothing would be left."""
    if isinstance(spec, CategoricalParam):
        assert condition.choices is not None
        kept = [c for c in spec.choices if c not in condition.choices]
        if not kept or len(kept) == len(spec.choices):
            return None
        return CategoricalParam(type="categorical", choices=kept)
    if (condition.low is None) == (condition.high is None):
        return None
    if condition.low is not None:  # the region is `value > low`: keep what is at most `low`
        high: float = math.floor(condition.low) if isinstance(spec, IntParam) else condition.low
        high = _on_grid(spec, high, up=False)
        if not spec.low <= high < spec.high:
            return None
        return spec.model_copy(update={"high": type(spec.high)(high)})
    assert condition.high is not None  # the region is `value <= high`: keep what is above
    low: float = math.floor(condition.high) + 1 if isinstance(spec, IntParam) else condition.high
    low = _on_grid(spec, low, up=True)
    if not spec.low < low <= spec.high:
        return None
    return spec.model_copy(update={"low": type(spec.low)(low)})


def narrowed_space(
    space: dict[str, SearchParam],
    regions: list[Region],
    outcomes: list[Outcome],
    best: dict[str, Any] | None,
) -> tuple[dict[str, SearchParam], list[Change], list[str]]:
    """The space with each region cut out where the evidence allows: the new space, the changes
    and, for each region left in, why."""
    space = dict(space)
    changes: list[Change] = []
    kept: list[str] = []
    for region in regions:
        live = [o for o in outcomes if all(inside(space[n], v) for n, v in o.params.items())]
        options = []
        for condition in region.conditions:
            after = excluding(space[condition.param], condition)
            if after is None or (best is not None and not inside(after, best[condition.param])):
                continue
            removed = [o for o in live if not inside(after, o.params[condition.param])]
            sick = sum(o.sick for o in removed)
            healthy = len(removed) - sick
            if sick > 0 and sick >= healthy:
                options.append((healthy, -sick, condition.param, after))
        if not options:
            kept.append(
                f"{region.sentence()}: left in (no single cut keeps the best trial and removes "
                "more sick trials than healthy ones)"
            )
            continue
        healthy, minus_sick, param, after = min(options, key=lambda o: (o[0], o[1]))
        changes.append(Change(param, space[param], after, region, -minus_sick, healthy))
        space[param] = after
    return space, changes, kept
