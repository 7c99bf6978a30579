"""Build the sampler a study file names, always explicitly (Optuna 5 changed defaults)."""

from __future__ import annotations

import numpy as np
import optuna

from sweeper.config import StudyConfig
from sweeper.errors import SweeperError
from sweeper.search_space import grid_of


def worker_seed(seed: int | None, worker_ordinal: int, started_trials: int) -> int | None:
    """The seed one worker's sampler gets: the study file's seed plus the worker's ordinal on a
    fresh study (so workers do not propose twins), and a seed mixed from all three once trials
    have started (so a resumed study does not propose its first parameter sets again)."""
    if seed is None:
        return None
    if started_trials == 0:
        return seed + worker_ordinal
    mixed = np.random.SeedSequence([seed, worker_ordinal, started_trials]).generate_state(1)[0]
    return int(mixed)


def build_sampler(
    config: StudyConfig, *, worker_ordinal: int = 0, started_trials: int = 0
) -> optuna.samplers.BaseSampler:
    """The study file's sampler, seeded per worker and per resumption (see `worker_seed`)."""
    spec = config.sampler
    seed = worker_seed(spec.seed, worker_ordinal, started_trials)
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
