"""How much each parameter matters for the objective's value, by Optuna's PED-ANOVA.

Computed on the COMPLETE trials only (a pruned trial's value is a stand-in or a partial one),
in a temporary in-memory study that holds them with the study file's distributions.
"""

from __future__ import annotations

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances

from sweeper.config import CategoricalParam, FloatParam
from sweeper.doctor.conditions import SearchParam
from sweeper.doctor.outcomes import Outcome

MIN_COMPLETE = 4  # fewer completed trials say nothing about the value


def distribution_of(spec: SearchParam) -> BaseDistribution:
    """The Optuna distribution a study-file parameter is sampled from."""
    if isinstance(spec, CategoricalParam):
        return CategoricalDistribution(spec.choices)
    if isinstance(spec, FloatParam):
        return FloatDistribution(spec.low, spec.high, log=spec.log, step=spec.step)
    return IntDistribution(spec.low, spec.high, log=spec.log, step=spec.step)


def value_importances(
    space: dict[str, SearchParam], outcomes: list[Outcome], *, maximize: bool
) -> dict[str, float]:
    """Each parameter's PED-ANOVA importance for the value (empty with too few COMPLETE trials
    or a value that never changes)."""
    complete = [o for o in outcomes if o.value is not None]
    if len(complete) < MIN_COMPLETE or len({o.value for o in complete}) < 2:
        return {}
    distributions = {name: distribution_of(spec) for name, spec in space.items()}
    study = optuna.create_study(direction="maximize" if maximize else "minimize")
    for outcome in complete:
        if all(
            distributions[n]._contains(distributions[n].to_internal_repr(v))
            for n, v in outcome.params.items()
        ):
            study.add_trial(
                optuna.trial.create_trial(
                    params=outcome.params, distributions=distributions, value=outcome.value
                )
            )
    try:
        found = get_param_importances(study, evaluator=PedAnovaImportanceEvaluator())
    except (ValueError, RuntimeError):
        return {}
    return {name: float(weight) for name, weight in found.items()}
