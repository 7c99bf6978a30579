"""The training loop: Adam on the causal loss, an optional augmented-Lagrangian schedule on the
acyclicity weight, ReduceLROnPlateau, and the health monitor fed at every step and epoch.

An epoch is one pass over the rows (full batch by default, or mini-batches of `batch_size`).
Every `eval_every` epochs (and at the last) the graph |W| > w_threshold is scored and the study's
metric is reported through `ctx.report`; the other epochs end with `ctx.check_health`.

Augmented Lagrangian (NOTEARS, with a fixed-length inner solve): the acyclic term is
lambda_acyclic * h + alpha * h + rho / 2 * h^2; every `al_interval` epochs, if h has not fallen
below a quarter of its value at the previous phase rho grows by `rho_growth` (up to `rho_max`),
then alpha += rho * h. The learning-rate scheduler steps on the training loss at each evaluation
(patience and cooldown count evaluations, as in the write-up) and forgets its best loss at each
phase change, since alpha and rho change the loss it compares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from objectives.causal.acyclicity import resolve_acyclicity
from objectives.causal.loss import causal_loss
from objectives.causal.metrics import edge_metrics, threshold_graph
from objectives.causal.models import SEM
from objectives.causal.params import CausalParams
from objectives.rng import rng_state, set_rng_state

if TYPE_CHECKING:
    from sweeper.api import TrialContext


@dataclass
class TrainResult:
    """The learned weighted adjacency, final loss and h(W), and metrics at each evaluation."""

    weight: np.ndarray
    loss: float
    h: float
    rho: float
    history: list[dict[str, float]] = field(default_factory=list)


def _batches(n: int, batch_size: int | None, generator: torch.Generator) -> list[torch.Tensor]:
    if batch_size is None or batch_size >= n:
        return [torch.arange(n)]
    return list(torch.randperm(n, generator=generator).split(batch_size))


def _restart_plateau(scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau) -> None:
    """Forget the best loss seen, so the next phase's higher loss does not count as a plateau."""
    scheduler.best = scheduler.mode_worse
    scheduler.num_bad_epochs = 0


def evaluate(
    weight: np.ndarray, true_graph: np.ndarray | None, w_threshold: float, loss: float
) -> dict[str, float]:
    """The metrics of the graph |W| > w_threshold (only `loss` and the edge count without truth)."""
    pred = threshold_graph(weight, w_threshold)
    if true_graph is None:
        return {"loss": loss, "predicted_edges": float(pred.sum())}
    return {**edge_metrics(true_graph, pred), "loss": loss}


def train(
    model: SEM,
    x: torch.Tensor,
    params: CausalParams,
    ctx: TrialContext,
    true_graph: np.ndarray | None = None,
) -> TrainResult:
    """Fit `model` to `x` and return the learned graph; prunes through `ctx` when told to."""
    acyclicity = resolve_acyclicity(params.acyclicity)
    optimizer = torch.optim.Adam(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="min",
        factor=params.lr_factor,
        patience=params.lr_patience,
        cooldown=params.lr_cooldown,
    )
    generator = torch.Generator().manual_seed(params.seed)
    alpha, rho = 0.0, params.rho_init if params.augmented_lagrangian else 0.0
    h_previous = math.inf
    history: list[dict[str, float]] = []
    n = x.shape[0]
    epoch_loss = math.nan
    h_value = math.nan

    every = params.checkpoint_every or params.eval_every
    start = 1
    state = ctx.restore()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        alpha, rho, h_previous = state["alpha"], state["rho"], state["h_previous"]
        history, epoch_loss, h_value = state["history"], state["epoch_loss"], state["h_value"]
        set_rng_state(state["rng"], generator)
        start = int(state["epoch"]) + 1

    for epoch in range(start, params.epochs + 1):
        model.train()
        loss_sum = torch.zeros((), dtype=x.dtype, device=x.device)
        for index in _batches(n, params.batch_size, generator):
            batch = x if len(index) == n else x[index]
            optimizer.zero_grad(set_to_none=True)
            terms = causal_loss(
                batch,
                model(batch),
                model.adjacency(),
                acyclicity=acyclicity,
                lambda_recon=params.lambda_recon,
                lambda_sparse=params.lambda_sparse,
                lambda_acyclic=params.lambda_acyclic,
                lambda_disen=params.lambda_disen,
                alpha=alpha,
                rho=rho,
            )
            terms.total.backward()
            ctx.monitor.clip_gradients(model, params.clip_norm)
            ctx.monitor.step(optimizer)
            ctx.monitor.observe_loss(terms.total.detach(), terms.components())
            loss_sum += terms.total.detach() * len(index)

        epoch_loss = float(loss_sum) / n  # one device sync per epoch
        h_value = float(terms.h.detach())  # the last step's h(W): saves a second exponential
        with torch.no_grad():
            weight = model.adjacency()
            edges = int((weight.abs() > params.w_threshold).sum())
        ctx.monitor.observe_graph(edges=edges, acyclicity=h_value)

        if params.augmented_lagrangian and epoch % params.al_interval == 0 and h_value > 0:
            if h_value > params.h_tol and h_value > 0.25 * h_previous:
                rho = min(rho * params.rho_growth, params.rho_max)
            alpha += rho * h_value
            h_previous = h_value
            # a new phase is a new objective: its loss is not comparable with the last one's
            _restart_plateau(scheduler)

        if epoch % params.eval_every == 0 or epoch == params.epochs:
            if not math.isfinite(epoch_loss):
                ctx.check_health(epoch)  # the health rules name the non-finite value when on
                ctx.prune(epoch, f"nonfinite: loss={epoch_loss} at epoch {epoch}")
            metrics = evaluate(
                weight.detach().cpu().numpy(), true_graph, params.w_threshold, epoch_loss
            )
            history.append({"epoch": float(epoch), "h": h_value, **metrics})
            scheduler.step(epoch_loss)
            ctx.report(epoch, metrics[ctx.metric])
        else:
            ctx.check_health(epoch)
        if epoch != params.epochs and (epoch % every == 0 or ctx.stop_pending):
            ctx.checkpoint(
                {
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "alpha": alpha,
                    "rho": rho,
                    "h_previous": h_previous,
                    "history": history,
                    "epoch_loss": epoch_loss,
                    "h_value": h_value,
                    "rng": rng_state(generator),
                }
            )

    with torch.no_grad():
        final_weight = model.adjacency().detach().cpu().numpy()
    return TrainResult(weight=final_weight, loss=epoch_loss, h=h_value, rho=rho, history=history)
