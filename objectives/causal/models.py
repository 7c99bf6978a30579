"""Reconstruction models with a learned weighted adjacency W (W[i, j] != 0 means i -> j).

`LinearSEM` is NOTEARS' linear structural equation model x_j = sum_i W[i, j] x_i + b_j.
`MLPSEM` is NOTEARS-MLP: each variable j is predicted by its own MLP whose first layer reads all
variables; W[i, j] is the L2 norm of the first-layer weights from input i into MLP j, so W[i, j] = 0
exactly when x_j does not depend on x_i. Both keep W's diagonal at zero (no self-loops).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class LinearSEM(nn.Module):
    """Linear SEM: `x_hat = x @ W + bias` with a zero-diagonal d x d weight W (initialised at 0)."""

    mask: torch.Tensor  # a buffer

    def __init__(self, num_nodes: int) -> None:
        super().__init__()
        self.num_nodes = num_nodes
        self.weight = nn.Parameter(torch.empty(num_nodes, num_nodes))
        self.bias = nn.Parameter(torch.empty(num_nodes))
        self.register_buffer("mask", 1.0 - torch.eye(num_nodes))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Start from the empty graph, as NOTEARS does."""
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)

    def adjacency(self) -> torch.Tensor:
        """The weighted adjacency W (zero diagonal), differentiable."""
        return self.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct every variable from the others."""
        return x @ self.adjacency() + self.bias

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.num_nodes})"


class MLPSEM(nn.Module):
    """NOTEARS-MLP: one MLP per variable (d -> hidden -> ... -> 1, sigmoid), sharing no weights."""

    mask: torch.Tensor  # a buffer

    def __init__(self, num_nodes: int, hidden_channels: int = 10, num_layers: int = 2) -> None:
        super().__init__()
        if num_layers < 2:
            raise ValueError(f"num_layers must be >= 2 (got {num_layers=})")
        self.num_nodes = num_nodes
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        d, m = num_nodes, hidden_channels
        # First layer: weight[j, k, i] maps input i to hidden unit k of variable j's MLP.
        self.first_weight = nn.Parameter(torch.empty(d, m, d))
        self.first_bias = nn.Parameter(torch.empty(d, m))
        sizes = [m] * (num_layers - 1) + [1]
        self.weights = nn.ParameterList(
            nn.Parameter(torch.empty(d, n_in, n_out))
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.biases = nn.ParameterList(nn.Parameter(torch.empty(d, n_out)) for n_out in sizes[1:])
        self.register_buffer("mask", (1.0 - torch.eye(d)).unsqueeze(1).expand(d, m, d).clone())
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform fan-in initialisation of every per-variable layer (as `nn.Linear` does)."""
        d = self.num_nodes
        bound = 1.0 / math.sqrt(d)
        nn.init.uniform_(self.first_weight, -bound, bound)
        nn.init.uniform_(self.first_bias, -bound, bound)
        for weight, bias in zip(self.weights, self.biases, strict=True):
            bound = 1.0 / math.sqrt(weight.shape[1])
            nn.init.uniform_(weight, -bound, bound)
            nn.init.uniform_(bias, -bound, bound)

    def adjacency(self) -> torch.Tensor:
        """W[i, j] = ||first-layer weights from input i into MLP j||_2 (zero diagonal)."""
        weight = self.first_weight * self.mask  # [j, k, i]
        return torch.sqrt((weight * weight).sum(dim=1) + 1e-20).t() * (
            1.0 - torch.eye(self.num_nodes, device=weight.device, dtype=weight.dtype)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruct every variable with its own MLP of the other variables."""
        h = torch.einsum("ni,jki->njk", x, self.first_weight * self.mask) + self.first_bias
        for weight, bias in zip(self.weights, self.biases, strict=True):
            h = torch.einsum("njk,jko->njo", torch.sigmoid(h), weight) + bias
        return h.squeeze(-1)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.num_nodes}, hidden_channels={self.hidden_channels},"
            f" num_layers={self.num_layers})"
        )


SEM = LinearSEM | MLPSEM
"""A reconstruction model: a module with `adjacency()`."""


def build_model(name: str, num_nodes: int, *, hidden_channels: int, num_layers: int) -> SEM:
    """The reconstruction model called `name` (`linear` or `mlp`)."""
    if name == "linear":
        return LinearSEM(num_nodes)
    if name == "mlp":
        return MLPSEM(num_nodes, hidden_channels=hidden_channels, num_layers=num_layers)
    raise ValueError(f"model must be 'linear' or 'mlp' (got {name!r})")
