"""Build the study file's base pruner and wrap it in the health rules."""

from __future__ import annotations

import optuna

from sweeper.config import PrunerConfig
from sweeper.errors import SweeperError
from sweeper.pruners.health import HealthPruner
from sweeper.registry import PRUNERS


def build_base_pruner(config: PrunerConfig) -> optuna.pruners.BasePruner:
    """The Optuna pruner the study file names, with its arguments checked by Optuna itself."""
    try:
        return PRUNERS[config.name]()(**config.args)
    except (TypeError, ValueError) as error:
        raise SweeperError(f"pruner -> args: {error}") from None


def build_pruner(config: PrunerConfig) -> optuna.pruners.BasePruner:
    """The base pruner, wrapped by the health rules unless `health` is null."""
    base = build_base_pruner(config)
    if config.health is None:
        return base
    return HealthPruner(base, config.health)
