"""Where in the space trials get sick: a shallow decision tree per sick label.

For one label (a health rule, or FAIL) the target is 0/1, "this trial ended with that label". A
depth-2 tree (scikit-learn's CART) over the sampled parameters (log-scaled ones in log10, each
categorical choice its own 0/1 column) ranks the parameters by how much of the label they
explain (the tree's impurity decrease, summed per parameter) and its leaves are the regions: a
leaf counts when it holds at least `MIN_SICK` trials of the label, at least half of its trials
carry it, and the rate inside is at least twice the rate outside. Conditions that do not
sharpen a region (its sick-rate gain over the rest) are dropped, so a region reads as short as
the evidence allows. The README's "sweeper doctor" section says why a tree and not fANOVA or
PED-ANOVA (benchmarks/doctor.py measures it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sweeper.config import CategoricalParam, FloatParam
from sweeper.doctor.conditions import (
    Condition,
    SearchParam,
    region_holds,
    region_text,
    threshold_between,
)
from sweeper.doctor.outcomes import Outcome

MIN_SICK = 2
MAX_DEPTH = 2
EVALUATOR = f"decision tree (scikit-learn CART, max_depth={MAX_DEPTH}, min_samples_leaf=2)"


@dataclass(frozen=True)
class Region:
    """A part of the space where one label is common, with the counts that show it."""

    label: str
    conditions: tuple[Condition, ...]
    sick_in: int
    trials_in: int
    sick_out: int
    trials_out: int

    def sentence(self) -> str:
        """`grad_explosion: 9 of 10 trials with lr > 0.04 and norm = none (0 of 14 elsewhere)`."""
        return (
            f"{self.label}: {self.sick_in} of {self.trials_in} trials with "
            f"{region_text(self.conditions)} ({self.sick_out} of {self.trials_out} elsewhere)"
        )

    def as_dict(self) -> dict[str, Any]:
        """The region as JSON."""
        return {
            "label": self.label,
            "text": self.sentence(),
            "conditions": [condition.as_dict() for condition in self.conditions],
            "sick_in": self.sick_in,
            "trials_in": self.trials_in,
            "sick_out": self.sick_out,
            "trials_out": self.trials_out,
        }


@dataclass(frozen=True)
class LabelFinding:
    """What predicts one label: parameter importances (highest first) and its regions."""

    label: str
    trials: int
    importances: dict[str, float]
    regions: tuple[Region, ...]


class _Columns:
    """The parameters as the tree's columns, and the way back from a split to a condition."""

    def __init__(self, space: dict[str, SearchParam], outcomes: list[Outcome]) -> None:
        self.space = space
        self.columns: list[tuple[str, Any]] = []  # (param, choice) or (param, None) if numeric
        for name, spec in space.items():
            if isinstance(spec, CategoricalParam):
                self.columns += [(name, choice) for choice in spec.choices]
            else:
                self.columns.append((name, None))
        self.matrix = np.array([[self._cell(o.params, c) for c in self.columns] for o in outcomes])

    def _cell(self, params: dict[str, Any], column: tuple[str, Any]) -> float:
        name, choice = column
        value = params[name]
        if isinstance(self.space[name], CategoricalParam):
            return 1.0 if value == choice else 0.0
        return math.log10(value) if self._log(name) else float(value)

    def _log(self, name: str) -> bool:
        spec = self.space[name]
        return not isinstance(spec, CategoricalParam) and spec.log

    def condition(self, column: int, threshold: float, above: bool) -> Condition:
        """The condition a tree split states: `column > threshold` when `above`, else `<=`."""
        name, choice = self.columns[column]
        spec = self.space[name]
        if isinstance(spec, CategoricalParam):
            kept = [c for c in spec.choices if (c == choice) == above]
            return Condition(name, choices=tuple(kept))
        values = self.matrix[:, column]
        below_value = float(values[values <= threshold].max())
        above_value = float(values[values > threshold].min())
        if self._log(name):
            below_value, above_value = 10**below_value, 10**above_value
        cut = threshold_between(below_value, above_value, log=self._log(name))
        integer = not isinstance(spec, FloatParam)
        return (
            Condition(name, low=cut, integer=integer)
            if above
            else Condition(name, high=cut, integer=integer)
        )


def _merge(conditions: list[Condition]) -> tuple[Condition, ...]:
    """One condition per parameter: intervals intersected, choice sets intersected."""
    merged: dict[str, Condition] = {}
    for condition in conditions:
        known = merged.get(condition.param)
        if known is None:
            merged[condition.param] = condition
        elif condition.choices is not None and known.choices is not None:
            kept = tuple(c for c in known.choices if c in condition.choices)
            merged[condition.param] = Condition(condition.param, choices=kept)
        else:
            lows = [b for b in (known.low, condition.low) if b is not None]
            highs = [b for b in (known.high, condition.high) if b is not None]
            merged[condition.param] = Condition(
                condition.param,
                low=max(lows) if lows else None,
                high=min(highs) if highs else None,
                integer=condition.integer,
            )
    return tuple(merged.values())


def _region(label: str, conditions: tuple[Condition, ...], outcomes: list[Outcome]) -> Region:
    inside = [o for o in outcomes if region_holds(conditions, o.params)]
    outside = [o for o in outcomes if not region_holds(conditions, o.params)]
    return Region(
        label,
        conditions,
        sick_in=sum(o.label == label for o in inside),
        trials_in=len(inside),
        sick_out=sum(o.label == label for o in outside),
        trials_out=len(outside),
    )


def _gain(region: Region) -> float:
    """Youden's J of the region as a detector of the label: the share of the label's trials it
    holds minus the share of the other trials it holds."""
    sick = region.sick_in + region.sick_out
    others = region.trials_in + region.trials_out - sick
    caught = region.sick_in / sick if sick else 0.0
    false = (region.trials_in - region.sick_in) / others if others else 0.0
    return caught - false


def _simplified(region: Region, outcomes: list[Outcome]) -> Region:
    """Drop conditions one at a time while the region detects the label no worse without them."""
    while len(region.conditions) > 1:
        shorter = [
            _region(region.label, region.conditions[:i] + region.conditions[i + 1 :], outcomes)
            for i in range(len(region.conditions))
        ]
        best = max(shorter, key=_gain)
        if _gain(best) < _gain(region):
            break
        region = best
    return region


def _counts(region: Region) -> bool:
    rate_in = region.sick_in / region.trials_in if region.trials_in else 0.0
    rate_out = region.sick_out / region.trials_out if region.trials_out else 0.0
    return region.sick_in >= MIN_SICK and rate_in >= 0.5 and rate_in >= 2 * rate_out


def find_label(label: str, space: dict[str, SearchParam], outcomes: list[Outcome]) -> LabelFinding:
    """The parameters that predict `label`, ranked, and the regions where it is common."""
    from sklearn.tree import DecisionTreeClassifier

    target = np.array([int(o.label == label) for o in outcomes])
    columns = _Columns(space, outcomes)
    tree = DecisionTreeClassifier(max_depth=MAX_DEPTH, min_samples_leaf=2, random_state=0)
    tree.fit(columns.matrix, target)
    importances: dict[str, float] = {}
    for (name, _), weight in zip(columns.columns, tree.feature_importances_, strict=True):
        importances[name] = importances.get(name, 0.0) + float(weight)
    ranked = dict(sorted(importances.items(), key=lambda item: -item[1]))
    regions: list[Region] = []
    for path in _leaf_paths(tree.tree_):
        conditions = _merge([columns.condition(c, t, above) for c, t, above in path])
        region = _simplified(_region(label, conditions, outcomes), outcomes)
        if _counts(region) and all(r.conditions != region.conditions for r in regions):
            regions.append(region)
    regions.sort(key=lambda r: (-r.sick_in, r.trials_in))
    return LabelFinding(label, int(target.sum()), ranked, tuple(regions))


def _leaf_paths(tree: Any) -> list[list[tuple[int, float, bool]]]:
    """Every leaf's path from the root: (column, threshold, went to the `>` side)."""
    paths: list[list[tuple[int, float, bool]]] = []
    pending: list[tuple[int, list[tuple[int, float, bool]]]] = [(0, [])]
    while pending:
        node, path = pending.pop()
        left, right = tree.children_left[node], tree.children_right[node]
        if left == right:  # a leaf
            if path:
                paths.append(path)
            continue
        column, threshold = int(tree.feature[node]), float(tree.threshold[node])
        pending.append((left, [*path, (column, threshold, False)]))
        pending.append((right, [*path, (column, threshold, True)]))
    return paths
