"""A seconds-long real objective: an MLP fits a noisy sine. For smoke tests and first sweeps.

It exercises the whole service (workers, health monitor, pruning, storage) without a graph, so
`sweeper launch examples/toy.yaml` shows in seconds that an installation works.
"""

from __future__ import annotations

import time
from typing import Any

import optuna
import torch
from pydantic import BaseModel, ConfigDict, Field

from sweeper.api import TrialContext


class ToyParams(BaseModel):
    """Parameters of the toy regression; names follow PyG's vocabulary."""

    model_config = ConfigDict(extra="forbid")

    lr: float = Field(default=0.01, gt=0)
    hidden_channels: int = Field(default=16, ge=1, le=4096)
    num_layers: int = Field(default=2, ge=1, le=16)
    clip_norm: float | None = Field(default=None, gt=0)
    epochs: int = Field(default=20, ge=1, le=100_000)
    num_samples: int = Field(default=256, ge=8)
    seed: int = 0
    epoch_delay: float = Field(default=0.0, ge=0, le=60)  # seconds; lets tests see overlap
    #: Epochs between trial checkpoints (None: none; the toy is seconds long).
    checkpoint_every: int | None = Field(default=None, ge=1)


def _mlp(params: ToyParams) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    width_in = 1
    for _ in range(params.num_layers - 1):
        layers += [torch.nn.Linear(width_in, params.hidden_channels), torch.nn.Tanh()]
        width_in = params.hidden_channels
    layers.append(torch.nn.Linear(width_in, 1))
    return torch.nn.Sequential(*layers)


def objective(trial: optuna.Trial, params: dict[str, Any], ctx: TrialContext) -> float:
    """Train the MLP; report validation MSE each epoch; return the best one."""
    config = ToyParams.model_validate(params)
    generator = torch.Generator().manual_seed(config.seed)
    x = torch.rand(config.num_samples, 1, generator=generator) * 6 - 3
    y = torch.sin(x) + 0.05 * torch.randn(x.shape, generator=generator)
    split = config.num_samples * 3 // 4
    torch.manual_seed(config.seed)
    model = _mlp(config).to(ctx.device)
    x, y = x.to(ctx.device), y.to(ctx.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    best = float("inf")
    start = 1
    state = ctx.restore() if config.checkpoint_every else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        best, start = state["best"], state["epoch"] + 1
    for epoch in range(start, config.epochs + 1):
        model.train()
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x[:split]), y[:split])
        loss.backward()
        ctx.monitor.observe_loss(loss)
        ctx.monitor.clip_gradients(model, config.clip_norm)
        ctx.monitor.step(optimizer)
        model.eval()
        with torch.no_grad():
            value = torch.nn.functional.mse_loss(model(x[split:]), y[split:]).item()
        best = min(best, value)
        if config.epoch_delay:
            time.sleep(config.epoch_delay)
        ctx.report(epoch, value)
        every = config.checkpoint_every
        if every and (epoch % every == 0 or ctx.stop_pending):
            ctx.checkpoint(
                {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "best": best, "epoch": epoch}
            )  # fmt: skip
    return best


objective.params_model = ToyParams  # type: ignore[attr-defined]
