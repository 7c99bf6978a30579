"""The base pruners and samplers a study file may name, each declared once: name -> factory.

`sweeper.config` accepts exactly these names (`pruner.name`, `sampler.name`), and
`sweeper.pruners.factory` and `sweeper.samplers` build from them. A factory imports Optuna only
when it is called, so reading a study file or printing a status stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optuna.pruners import BasePruner
    from optuna.samplers import BaseSampler

__all__ = ["PRUNERS", "SAMPLERS", "SamplerKind"]


def _optuna(path: str) -> Callable[[], Any]:
    """The Optuna class at `module:Class` (the factory), imported when first asked for."""
    module, _, name = path.partition(":")
    return lambda: getattr(importlib.import_module(module), name)


#: `pruner.name` -> its Optuna pruner class, called with the study file's `pruner.args`.
PRUNERS: dict[str, Callable[[], type[BasePruner]]] = {
    "median": _optuna("optuna.pruners:MedianPruner"),
    "percentile": _optuna("optuna.pruners:PercentilePruner"),
    "hyperband": _optuna("optuna.pruners:HyperbandPruner"),
    "successive_halving": _optuna("optuna.pruners:SuccessiveHalvingPruner"),
    "threshold": _optuna("optuna.pruners:ThresholdPruner"),
    "none": _optuna("optuna.pruners:NopPruner"),
}


@dataclass(frozen=True)
class SamplerKind:
    """How `sampler.name` is built: `load()` is its Optuna class, called as
    `cls(seed=..., **options)`, or `cls(grid, seed=..., **options)` when `grid` (the search
    space's grid first). `seed_per_trial: False` keeps the study's seed in every process: it fixes
    the point sequence (QMC) or grid order that all workers of the study must share."""

    load: Callable[[], Callable[..., BaseSampler]]  # a class whose `__init__` takes `seed`
    seed_per_trial: bool = True
    grid: bool = False


#: `sampler.name` -> how it is built, called with the study file's `sampler.options`.
SAMPLERS: dict[str, SamplerKind] = {
    "tpe": SamplerKind(_optuna("optuna.samplers:TPESampler")),
    "random": SamplerKind(_optuna("optuna.samplers:RandomSampler")),
    "cmaes": SamplerKind(_optuna("optuna.samplers:CmaEsSampler")),
    "grid": SamplerKind(_optuna("optuna.samplers:GridSampler"), seed_per_trial=False, grid=True),
    "qmc": SamplerKind(_optuna("optuna.samplers:QMCSampler"), seed_per_trial=False),
}
