"""Build the sampler a study file names, always explicitly (Optuna 5 changed defaults).

A seeded study gives every trial its own random stream, seeded from the study's seed and the
trial's number. Trial numbers are handed out by the storage, one per trial, so two workers
never draw from the same stream, wherever they run (two `launch` commands, a `sweeper worker`
on another machine, a resumed study), and a study run by one worker is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from sweeper.config import StudyConfig
from sweeper.errors import SweeperError
from sweeper.registry import SAMPLERS, SamplerKind
from sweeper.search_space import grid_of

__all__ = ["TrialSeededSampler", "build_sampler", "trial_seed"]


def trial_seed(seed: int | None, trial_number: int) -> int | None:
    """The seed of one trial's sampler: the study's seed mixed with the trial number."""
    if seed is None:
        return None
    return int(np.random.SeedSequence([seed, trial_number]).generate_state(1)[0])


class TrialSeededSampler(BaseSampler):
    """Wraps a sampler that is built afresh, with `trial_seed(seed, number)`, for each trial.

    Optuna samplers keep what they learn in the storage, not in the instance, so a fresh one
    per trial loses nothing; only its random stream changes, and it now depends on the trial
    rather than on which process runs it.
    """

    def __init__(self, build: Callable[[int | None], BaseSampler], *, seed: int) -> None:
        self._build = build
        self._seed = seed
        self._sampler = build(seed)

    def __str__(self) -> str:
        return f"{type(self).__name__}({self._sampler}, seed={self._seed})"

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._sampler = self._build(trial_seed(self._seed, trial.number))
        self._sampler.before_trial(study, trial)

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._sampler.infer_relative_search_space(study, trial)

    def sample_relative(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        return self._sampler.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._sampler.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._sampler.reseed_rng()


def build_sampler(config: StudyConfig) -> BaseSampler:
    """The study file's sampler; a seeded TPE, random or CMA-ES one is seeded per trial.

    QMC and grid keep the study's seed in every process: it fixes the point sequence and the
    grid order that all workers of the study must share.
    """
    spec = config.sampler
    kind = SAMPLERS[spec.name]
    options = dict(spec.options)
    build = _constructor(config, kind, options)
    try:
        if not kind.seed_per_trial or spec.seed is None:
            return build(spec.seed)
        return TrialSeededSampler(build, seed=spec.seed)
    except (TypeError, ValueError) as error:
        raise SweeperError(f"sampler -> options: {error}") from None


def _constructor(
    config: StudyConfig, kind: SamplerKind, options: dict[str, Any]
) -> Callable[[int | None], BaseSampler]:
    """The sampler built for one seed (the grid sampler's grid comes first)."""
    sampler = kind.load()
    if not kind.grid:
        return lambda seed: sampler(seed=seed, **options)
    grid = grid_of(config)
    return lambda seed: sampler(grid, seed=seed, **options)
