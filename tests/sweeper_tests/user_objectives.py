"""Objectives a user might write, named `tests.sweeper_tests.user_objectives:NAME` in tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import torch
import yaml

from sweeper.api import SweeperError, TrialContext


def write_study_for(
    path: Path,
    objective: str,
    n_trials: int,
    *,
    study: str = "user",
    low: float = -2.0,
    **fields: Any,
) -> Path:
    """A study file (random sampler, seed 1, no pruner) that searches `x` in [low, low + 4] for
    the objective NAME of this module; `fields` are added to the file as they are."""
    path.write_text(
        yaml.safe_dump(
            {
                "study": study,
                "objective": f"tests.sweeper_tests.user_objectives:{objective}",
                "direction": "minimize",
                "metric": "loss",
                "n_trials": n_trials,
                "sampler": {"name": "random", "seed": 1},
                "pruner": {"name": "none"},
                "space": {"x": {"type": "float", "low": low, "high": low + 4.0}},
                **fields,
            }
        )
    )
    return path


def out_of_memory_on_even_trials(
    trial: optuna.Trial, params: dict[str, Any], ctx: TrialContext
) -> float:
    """Even-numbered trials hit the error CUDA raises when a GPU runs out of memory."""
    if trial.number % 2 == 0:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    x = torch.tensor(params["x"], requires_grad=True)
    loss = (x - 1.0) ** 2
    loss.backward()
    ctx.monitor.observe_loss(loss)
    ctx.report(1, float(loss))
    return float(loss)


def buggy(trial: optuna.Trial, params: dict[str, Any], ctx: TrialContext) -> float:
    """A bug in a user's objective."""
    return params["missing_key"]


def nan_loss_when_lr_is_high(
    trial: optuna.Trial, params: dict[str, Any], ctx: TrialContext
) -> float:
    """Six epochs whose loss turns NaN from epoch 2 when `lr` > 0.05; the value stays finite."""
    for epoch in range(1, 7):
        sick = params["lr"] > 0.05 and epoch >= 2
        ctx.monitor.observe_loss(torch.tensor(float("nan") if sick else 1.0 / epoch))
        ctx.report(epoch, params["lr"] + 1.0 / epoch)
    return params["lr"]


def needs_data_file(trial: optuna.Trial, params: dict[str, Any], ctx: TrialContext) -> float:
    """Fails until its data file exists (a dataset the user has not put in place yet)."""
    path = Path(params["data_file"])
    if not path.is_file():
        raise SweeperError(f"dataset: {path} does not exist")
    ctx.report(1, (params["x"] - 1.0) ** 2)
    return (params["x"] - 1.0) ** 2


def fails_below_zero(trial: optuna.Trial, params: dict[str, Any], ctx: TrialContext) -> float:
    """Fails for negative `x` only: a region of the space where the model cannot train."""
    if params["x"] < 0:
        raise ValueError(f"x={params['x']:.3f} is negative")
    ctx.report(1, (params["x"] - 1.0) ** 2)
    return (params["x"] - 1.0) ** 2


def returns_nan(trial: optuna.Trial, params: dict[str, Any], ctx: TrialContext) -> float:
    """Returns NaN instead of raising (Optuna fails such a trial)."""
    return float("nan")


def with_a_failing_preflight(
    trial: optuna.Trial, params: dict[str, Any], ctx: TrialContext
) -> float:
    """Never runs: its pre-flight refuses every launch."""
    return params["x"]


def _no_gpu_driver(params: dict[str, Any]) -> None:
    raise FileNotFoundError(f"no GPU driver at x={params['x']}")


with_a_failing_preflight.preflight = _no_gpu_driver  # type: ignore[attr-defined]
