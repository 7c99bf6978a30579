"""Build the study file's base pruner and wrap it in the health rules."""

from __future__ import annotations

import optuna

from sweeper.config import PrunerConfig
from sweeper.errors import SweeperError
from sweeper.pruners.health import HealthPruner

_BASE_PRUNERS = {
    "median": optuna.pruners.MedianPruner,
    "percentile": optuna.pruners.PercentilePruner,
    "hyperband": optuna.pruners.HyperbandPruner,
    "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
    "threshold": optuna.pruners.ThresholdPruner,
    "none": optuna.pruners.NopPruner,
}


def build_base_pruner(config: PrunerConfig) -> optuna.pruners.BasePruner:
    """The Optuna pruner the study file names, with its arguments checked by Optuna itself."""
    try:
        return _BASE_PRUNERS[config.name](**config.args)
    except (TypeError, ValueError) as error:
        raise SweeperError(f"pruner -> args: {error}") from None


def build_pruner(config: PrunerConfig) -> optuna.pruners.BasePruner:
    """The base pruner, wrapped by the health rules unless `health` is null."""
    base = build_base_pruner(config)
    if config.health is None:
        return base
    return HealthPruner(base, config.health)
