"""`sweeper doctor`: what made a study's trials sick, what the healthy ones share, which
parameters do not matter, and the space without the sick regions.

Read-only: it reads the trials and the stored study file and writes nothing to the storage.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import optuna

from sweeper.config import CategoricalParam, StudyConfig
from sweeper.doctor.conditions import SearchParam, choice_text, short_number
from sweeper.doctor.narrowing import Change, narrowed_space
from sweeper.doctor.outcomes import Outcome, ended_outcomes
from sweeper.doctor.regions import EVALUATOR, MIN_SICK, LabelFinding, find_label
from sweeper.doctor.study_file import narrowed_name, narrowed_yaml
from sweeper.doctor.value_importance import value_importances
from sweeper.errors import SweeperError

MIN_TRIALS = 8
#: Below this importance (importances sum to 1) a parameter "does not matter".
IMPORTANCE_FLOOR = 0.05


@dataclass
class Diagnosis:
    """Everything `sweeper doctor` says about one study."""

    study: str
    direction: str
    metric: str
    outcomes: list[Outcome]
    findings: list[LabelFinding]
    value_importance: dict[str, float]
    healthy_share: list[str]
    unimportant: list[dict[str, Any]]
    space: dict[str, SearchParam]
    changes: list[Change]
    left_in: list[str]
    config: StudyConfig

    @property
    def sick_counts(self) -> dict[str, int]:
        """Trials per sick label, most common first."""
        return dict(Counter(o.label for o in self.outcomes if o.label is not None).most_common())

    def headline(self) -> str:
        """`study x (maximize hits@20): 20 trials ended: 12 healthy, 6 embedding_collapse`."""
        healthy = sum(not o.sick for o in self.outcomes)
        sick = "".join(f", {n} {label}" for label, n in self.sick_counts.items())
        return (
            f"study {self.study} ({self.direction} {self.metric}): {len(self.outcomes)} trials "
            f"ended: {healthy} healthy{sick}"
        )

    def narrowed_yaml(self) -> str:
        """The narrowed study file's text (see `sweeper.doctor.study_file`)."""
        header = [
            f"Narrowed by `sweeper doctor {self.study}` from {len(self.outcomes)} ended trials: "
            "the same study file",
            "under a new name, with the sick regions cut out "
            f"({len(self.changes)} {'change' if len(self.changes) == 1 else 'changes'}).",
        ]
        return narrowed_yaml(self.config, self.space, self.changes, header)

    def as_dict(self) -> dict[str, Any]:
        """The diagnosis as one JSON object."""
        return {
            "study": self.study,
            "direction": self.direction,
            "metric": self.metric,
            "ended": len(self.outcomes),
            "healthy": sum(not o.sick for o in self.outcomes),
            "sick": self.sick_counts,
            "evaluator": EVALUATOR,
            "failure_regions": [
                {
                    "label": f.label,
                    "trials": f.trials,
                    "importance": f.importances,
                    "regions": [r.as_dict() for r in f.regions],
                }
                for f in self.findings
            ],
            "value_importance": self.value_importance,
            "healthy_share": self.healthy_share,
            "unimportant": self.unimportant,
            "narrowed_study": narrowed_name(self.study),
            "changes": [c.as_dict() for c in self.changes],
            "left_in": self.left_in,
        }

    def lines(self) -> list[str]:
        """The diagnosis as a person reads it, one statement a line."""
        lines = [self.headline()]
        if self.findings:
            lines.append(f"failure regions ({EVALUATOR}):")
        for finding in self.findings:
            ranked = ", ".join(
                f"{name} {weight:.2f}" for name, weight in finding.importances.items() if weight
            )
            lines.append(
                f"  {finding.label} ({finding.trials} trials): predicted by {ranked or '-'}"
            )
            for region in finding.regions:
                lines.append(f"    {region.sentence()}")
            if not finding.regions:
                lines.append(
                    f"    no region: its {finding.trials} trials are spread over the space"
                )
        if not self.findings:
            lines.append("no sick trials: nothing to narrow")
        lines.append(f"healthy trials ({sum(not o.sick for o in self.outcomes)}) share:")
        lines += [f"  {text}" for text in self.healthy_share] or ["  nothing the sick ones lack"]
        lines.append(self._unimportant_line())
        if self.changes:
            lines.append(f"narrowed ({narrowed_name(self.study)}):")
            lines += [f"  {c.param}: {c.what()}" for c in self.changes]
        lines += [f"  {text}" for text in self.left_in]
        return lines

    def _unimportant_line(self) -> str:
        if not self.value_importance:
            return "do not matter: too few COMPLETE trials to rank parameters by value"
        if not self.unimportant:
            return f"do not matter: none (every parameter has importance >= {IMPORTANCE_FLOOR})"
        named = ", ".join(
            f"{u['param']}" + ("" if u["best"] is None else f" (best trial: {u['best']})")
            for u in self.unimportant
        )
        return (
            f"do not matter (importance < {IMPORTANCE_FLOOR} for the value and for sickness), "
            f"fix them: {named}"
        )


def _shown(value: Any) -> str:
    """A parameter value for a sentence: 3 significant digits (`0.0312`, `1e-05`), or a choice."""
    return (
        short_number(float(f"{value:.3g}"))
        if isinstance(value, int | float) and not isinstance(value, bool)
        else choice_text(value)
    )


def healthy_share(space: dict[str, SearchParam], outcomes: list[Outcome]) -> list[str]:
    """What every healthy trial has and some sick ones lack: a range or a set of choices."""
    healthy = [o for o in outcomes if not o.sick]
    sick = [o for o in outcomes if o.sick]
    if not healthy or not sick:
        return []
    statements = []
    for name, spec in space.items():
        ok = [o.params[name] for o in healthy]
        bad = [o.params[name] for o in sick]
        if isinstance(spec, CategoricalParam):
            never = [c for c in spec.choices if c not in ok and c in bad]
            if never:
                seen = [choice_text(c) for c in spec.choices if c in ok]
                statements.append(
                    f"{name} in {{{', '.join(seen)}}} (never "
                    f"{', '.join(choice_text(c) for c in never)})"
                )
            continue
        low, high = min(ok), max(ok)
        outside = sum(not low <= v <= high for v in bad)
        if outside:
            statements.append(
                f"{name} {_shown(low)}..{_shown(high)} ({outside} of {len(bad)} sick trials "
                f"outside; space {_shown(spec.low)}..{_shown(spec.high)})"
            )
    return statements


def _best(outcomes: list[Outcome], maximize: bool) -> Outcome | None:
    """The best COMPLETE trial (by the study's direction), or None before one completes."""
    complete = [o for o in outcomes if o.value is not None and math.isfinite(o.value)]
    if not complete:
        return None
    ranked = sorted(complete, key=lambda o: float(o.value or 0.0))
    return ranked[-1] if maximize else ranked[0]


def unimportant(
    space: dict[str, SearchParam],
    findings: list[LabelFinding],
    value: dict[str, float],
    best: Outcome | None,
) -> list[dict[str, Any]]:
    """Parameters below the floor for the value and for every sick label (none while the value
    importances are unknown)."""
    if not value:
        return []
    rows = []
    for name in space:
        sick = max((f.importances.get(name, 0.0) for f in findings), default=0.0)
        if value.get(name, 0.0) < IMPORTANCE_FLOOR and sick < IMPORTANCE_FLOOR:
            rows.append(
                {
                    "param": name,
                    "value_importance": round(value.get(name, 0.0), 4),
                    "sick_importance": round(sick, 4),
                    "best": None if best is None else _shown(best.params[name]),
                }
            )
    return rows


def diagnose(study: optuna.Study, config: StudyConfig) -> Diagnosis:
    """The diagnosis of a study created from `config`; SweeperError with fewer than MIN_TRIALS
    ended trials (too few to tell a region from chance)."""
    space = dict(config.space)
    outcomes = ended_outcomes(study.get_trials(deepcopy=False), list(space))
    if len(outcomes) < MIN_TRIALS:
        raise SweeperError(
            f"study '{study.study_name}' has {len(outcomes)} ended trials (COMPLETE, PRUNED or "
            f"FAIL); the doctor needs at least {MIN_TRIALS} to tell a sick region from chance"
        )
    if not space:
        raise SweeperError(f"study '{study.study_name}' searches no parameter (its space is empty)")
    maximize = config.direction == "maximize"
    labels = Counter(o.label for o in outcomes if o.label is not None)
    findings = [
        find_label(label, space, outcomes) for label, n in labels.most_common() if n >= MIN_SICK
    ]
    findings += [
        LabelFinding(label, n, {}, ()) for label, n in labels.most_common() if n < MIN_SICK
    ]
    best = _best(outcomes, maximize)
    value = value_importances(space, outcomes, maximize=maximize)
    regions = sorted(
        (r for f in findings for r in f.regions), key=lambda r: (-r.sick_in, r.trials_in)
    )
    narrowed, changes, left_in = narrowed_space(
        space, regions, outcomes, None if best is None else best.params
    )
    return Diagnosis(
        study=study.study_name,
        direction=config.direction,
        metric=config.metric,
        outcomes=outcomes,
        findings=findings,
        value_importance=value,
        healthy_share=healthy_share(space, outcomes),
        unimportant=unimportant(space, findings, value, best),
        space=narrowed,
        changes=changes,
        left_in=left_in,
        config=config,
    )
