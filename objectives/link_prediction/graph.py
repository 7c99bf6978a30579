"""The training graph in the form PyG layers propagate through fastest on a fixed graph.

OGB's ddi example propagates through a sparse adjacency (`adj_t`) rather than `edge_index`:
message passing over `edge_index` materialises one message per edge and layer (on ogbl-ddi,
2.1 M edges x 256 channels, about 2 GB per layer, mostly page faults), where a sparse-dense
product reads the adjacency in place. GCNConv and SAGEConv give the same result either way.

torch's backward of a sparse CSR product transposes the matrix on every call (on ogbl-ddi about
150 ms a layer and step, an eighth of an epoch); `TransposeCachedGCNConv` computes the transpose
of its cached normalised adjacency once, and none at all when the graph is undirected (the
normalised adjacency is then its own transpose).
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor
from torch_geometric.nn import GCNConv
from torch_geometric.utils import to_torch_csr_tensor

# PyG builds CSR tensors of its own for GCN normalisation; torch's notices about them (beta
# support, invariant checks off) are noise to a user of a sweep.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")


def propagation_graph(edge_index: Tensor, num_nodes: int) -> Tensor:
    """`edge_index` [2, E] (source, target) as a sparse CSR `adj_t` whose rows are the targets,
    on the same device, for `conv(x, adj_t)`."""
    return to_torch_csr_tensor(edge_index.flip(0), size=(num_nodes, num_nodes))


def csr_transpose(adj: Tensor) -> Tensor:
    """The transpose of a sparse CSR matrix as a CSR matrix: `adj` itself when it is symmetric
    (no second copy), else a new one."""
    transposed = adj.t().to_sparse_csr()
    same = (
        torch.equal(transposed.crow_indices(), adj.crow_indices())
        and torch.equal(transposed.col_indices(), adj.col_indices())
        and torch.equal(transposed.values(), adj.values())
    )
    return adj if same else transposed


class _SparseProduct(torch.autograd.Function):
    """`adj @ x` for a constant sparse CSR `adj`, differentiable in `x` through its transpose
    given once, not recomputed by every backward."""

    @staticmethod
    def forward(ctx: Any, adj: Tensor, transposed: Tensor, x: Tensor) -> Tensor:
        ctx.transposed = transposed
        return adj @ x

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, None, Tensor]:
        return None, None, ctx.transposed @ grad


class TransposeCachedGCNConv(GCNConv):
    """PyG's GCNConv (`cached=True`: the training graph never changes) whose sparse product's
    backward reuses one transpose of the cached normalised adjacency. Results are GCNConv's."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs: Any) -> None:
        super().__init__(in_channels, out_channels, cached=True, **kwargs)
        self._transposed: tuple[Tensor, Tensor] | None = None

    def reset_parameters(self) -> None:
        """GCNConv's reset, which also drops the cached adjacency, and its transpose here."""
        super().reset_parameters()
        self._transposed = None

    def message_and_aggregate(self, adj_t: Any, x: Tensor) -> Tensor:
        """`adj_t @ x`, through `_SparseProduct` for a CSR `adj_t` while gradients flow."""
        if not isinstance(adj_t, Tensor) or adj_t.layout != torch.sparse_csr:
            return super().message_and_aggregate(adj_t, x)
        if not (torch.is_grad_enabled() and x.requires_grad):
            return adj_t @ x
        if self._transposed is None or self._transposed[0] is not adj_t:
            self._transposed = (adj_t, csr_transpose(adj_t))
        return _SparseProduct.apply(adj_t, self._transposed[1], x)
