"""The finite value a health-pruned trial keeps, worse than every healthy value seen.

A pruned trial's value is its last intermediate value. NaN would make TPE score it as the worst
of the pruned trials but carries no scale; a finite value below the healthy ones keeps the
trial's region in TPE's "bad" group and plots stay readable. Health-pruned trials are left out
of the reference, so penalties do not drift further with every pruned trial.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import optuna
from optuna.study import StudyDirection
from optuna.trial import TrialState

from sweeper.health.rules import is_health_reason
from sweeper.trial_attrs import PRUNE_REASON_ATTR

NO_REFERENCE_PENALTY = 1e9  # used only when no finite value exists anywhere in the study yet


def stand_in_value(study: optuna.Study, own_values: Iterable[float]) -> float:
    """The worst healthy value seen (finished trials not pruned for health, plus this trial's own
    reported values) moved further in the bad direction by max(spread, |worst|, 1)."""
    maximize = study.direction == StudyDirection.MAXIMIZE
    values = [float(v) for v in own_values if math.isfinite(v)]
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        if trial.value is None or not math.isfinite(trial.value):
            continue
        if is_health_reason(trial.user_attrs.get(PRUNE_REASON_ATTR)):
            continue
        values.append(trial.value)
    if not values:
        return -NO_REFERENCE_PENALTY if maximize else NO_REFERENCE_PENALTY
    worst = min(values) if maximize else max(values)
    margin = max(max(values) - min(values), abs(worst), 1.0)
    return worst - margin if maximize else worst + margin
