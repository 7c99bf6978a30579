"""An objective that needs no torch, named `tests.sweeper_tests.plain_objectives:NAME`: the
kind a fleet benchmark or a non-neural sweep runs. It imports nothing that imports torch."""

from __future__ import annotations

import sys
from typing import Any

import optuna

from sweeper.api import TrialContext


def quadratic_without_torch(
    trial: optuna.Trial, params: dict[str, Any], ctx: TrialContext
) -> float:
    """(x - 1)^2 over three reported epochs; records whether torch was loaded in the worker."""
    value = (params["x"] - 1.0) ** 2
    for epoch in (1, 2, 3):
        ctx.report(epoch, value)
    ctx.set_attr("torch_loaded", "torch" in sys.modules)
    return value
