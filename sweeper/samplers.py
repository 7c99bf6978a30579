"""Build the sampler a study file names, always explicitly (Optuna 5 changed defaults)."""

from __future__ import annotations

import optuna

from sweeper.config import StudyConfig
from sweeper.errors import SweeperError
from sweeper.search_space import grid_of


def build_sampler(config: StudyConfig, *, worker_ordinal: int = 0) -> optuna.samplers.BaseSampler:
    """The study file's sampler; each worker offsets the seed so workers do not propose twins."""
    spec = config.sampler
    seed = None if spec.seed is None else spec.seed + worker_ordinal
    options = dict(spec.options)
    try:
        if spec.name == "tpe":
            return optuna.samplers.TPESampler(seed=seed, **options)
        if spec.name == "random":
            return optuna.samplers.RandomSampler(seed=seed, **options)
        if spec.name == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed, **options)
        if spec.name == "qmc":
            return optuna.samplers.QMCSampler(seed=spec.seed, **options)
        return optuna.samplers.GridSampler(grid_of(config), seed=spec.seed, **options)
    except (TypeError, ValueError) as error:
        raise SweeperError(f"sampler -> options: {error}") from None
