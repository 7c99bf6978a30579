"""What each trial that ran to an end was: healthy, or sick with a label (a health rule or FAIL).

A trial pruned by a health rule carries the rule's name as its label; a trial whose objective
failed is `FAIL`. COMPLETE trials and trials the study's own (base) pruner stopped are healthy:
they trained normally and were only judged slow. Trials refused at their start because the target
was full never ran and are left out, as are RUNNING and WAITING ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from sweeper.progress import is_surplus
from sweeper.report.trials import prune_rule
from sweeper.trial_attrs import BASE_PRUNER_RULE

FAIL_LABEL = "FAIL"
ENDED_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


@dataclass(frozen=True)
class Outcome:
    """One ended trial as the doctor reads it: its sampled parameters, value and sick label."""

    number: int
    params: dict[str, Any]
    value: float | None  # COMPLETE trials only
    label: str | None  # None: healthy

    @property
    def sick(self) -> bool:
        """Whether a health rule pruned the trial or its objective failed."""
        return self.label is not None


def sick_label(trial: FrozenTrial) -> str | None:
    """The health rule that pruned the trial, `FAIL` for a failed one, None for a healthy one."""
    if trial.state == TrialState.FAIL:
        return FAIL_LABEL
    rule = prune_rule(trial)
    return None if rule in (None, BASE_PRUNER_RULE) else rule


def ended_outcomes(trials: list[FrozenTrial], space: list[str]) -> list[Outcome]:
    """The trials that ran to an end with every parameter of `space` sampled, oldest first."""
    outcomes = []
    for trial in trials:
        if trial.state not in ENDED_STATES or is_surplus(trial):
            continue
        if any(name not in trial.params for name in space):
            continue
        value = trial.value if trial.state == TrialState.COMPLETE else None
        params = {name: trial.params[name] for name in space}
        outcomes.append(Outcome(trial.number, params, value, sick_label(trial)))
    return outcomes
