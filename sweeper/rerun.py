"""A study file that reruns exactly one trial's configuration."""

from __future__ import annotations

from typing import Any

import optuna

from sweeper.config import StudyConfig
from sweeper.trial_attrs import PARAM_OVERRIDES_ATTR


def rerun_config(config: StudyConfig, trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """The study file with the trial's parameters (and any per-trial overrides) fixed."""
    data = config.stored()
    params = dict(config.params)
    params.update(trial.params)
    params.update(trial.user_attrs.get(PARAM_OVERRIDES_ATTR, {}))
    data.update(
        study=f"{config.study}-trial{trial.number}",
        n_trials=1,
        timeout=None,
        params=params,
        space={},
    )
    return data
