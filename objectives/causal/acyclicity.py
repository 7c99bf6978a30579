"""Differentiable acyclicity measures h(W): zero exactly when the weighted graph W is a DAG.

- `notears`: h(W) = tr(exp(W∘W)) - d (Zheng et al., 2018).
- `poly`:    h(W) = tr((I + W∘W/d)^d) - d (Yu et al., 2019, DAG-GNN), cheaper and less prone to
  overflow on large weights, but flatter near zero.
Both are non-negative and grow with the weighted cycles of W.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

Acyclicity = Callable[[torch.Tensor], torch.Tensor]


class _TraceExp(torch.autograd.Function):
    """tr(exp(A)) with the closed-form gradient exp(A)^T (autograd's generic matrix_exp backward
    costs a 2d x 2d exponential per step; this reuses the forward one)."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, a: torch.Tensor) -> torch.Tensor:
        expm = torch.linalg.matrix_exp(a)
        ctx.save_for_backward(expm)
        return expm.diagonal().sum()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:  # torch's own: `ctx: Any`
        (expm,) = ctx.saved_tensors
        return grad * expm.t()


def notears_acyclicity(weight: torch.Tensor) -> torch.Tensor:
    """NOTEARS' h(W) = tr(exp(W∘W)) - d."""
    return _TraceExp.apply(weight * weight) - weight.shape[0]


def poly_acyclicity(weight: torch.Tensor) -> torch.Tensor:
    """DAG-GNN's polynomial h(W) = tr((I + W∘W/d)^d) - d."""
    d = weight.shape[0]
    eye = torch.eye(d, dtype=weight.dtype, device=weight.device)
    return torch.linalg.matrix_power(eye + weight * weight / d, d).diagonal().sum() - d


ACYCLICITY: dict[str, Acyclicity] = {"notears": notears_acyclicity, "poly": poly_acyclicity}


def resolve_acyclicity(name: str) -> Acyclicity:
    """The acyclicity function called `name` (`notears` or `poly`)."""
    if name not in ACYCLICITY:
        raise ValueError(f"acyclicity must be one of {sorted(ACYCLICITY)} (got {name!r})")
    return ACYCLICITY[name]
