"""Turn the study file's `space` into Optuna suggestions and grids."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna

from sweeper.config import CategoricalParam, FloatParam, IntParam, StudyConfig
from sweeper.trial_attrs import PARAM_OVERRIDES_ATTR


def suggest_params(trial: optuna.Trial, config: StudyConfig) -> dict[str, Any]:
    """The trial's resolved parameters: fixed `params`, sampled `space`, then any per-trial
    overrides that were enqueued with it (user attribute `param_overrides`)."""
    resolved: dict[str, Any] = dict(config.params)
    for name, spec in config.space.items():
        if isinstance(spec, FloatParam):
            resolved[name] = trial.suggest_float(
                name, spec.low, spec.high, log=spec.log, step=spec.step
            )
        elif isinstance(spec, IntParam):
            resolved[name] = trial.suggest_int(
                name, spec.low, spec.high, log=spec.log, step=spec.step
            )
        else:
            resolved[name] = trial.suggest_categorical(name, spec.choices)
    resolved.update(trial.user_attrs.get(PARAM_OVERRIDES_ATTR, {}))
    return resolved


def grid_of(config: StudyConfig) -> dict[str, list[Any]]:
    """Every value each parameter can take, for Optuna's GridSampler."""
    grid: dict[str, list[Any]] = {}
    for name, spec in config.space.items():
        if isinstance(spec, CategoricalParam):
            grid[name] = list(spec.choices)
        elif isinstance(spec, IntParam):
            grid[name] = list(range(spec.low, spec.high + 1, spec.step))
        else:
            assert spec.step is not None  # checked by the config
            count = int(round((spec.high - spec.low) / spec.step)) + 1
            grid[name] = [
                float(v) for v in np.linspace(spec.low, spec.low + spec.step * (count - 1), count)
            ]
    return grid
