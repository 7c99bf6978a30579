"""Negative edges for training: fresh uniform ones each step, a share of them hard.

A hard negative is a non-edge two hops away from a positive's source node (a neighbour of a
neighbour), the kind of pair a model that only learned "nearby means linked" scores too high.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import negative_sampling, sort_edge_index
from torch_geometric.utils.sparse import index2ptr

#: Up to this many node pairs, negatives are checked against a dense mask (as the OGB ddi
#: example does: faster); above it, PyG's memory-light sparse check is used.
DENSE_PAIRS = 2**26


def uniform_negatives(edge_index: Tensor, num_nodes: int, num_samples: int) -> Tensor:
    """`num_samples` uniform random non-edges from `torch_geometric.utils.negative_sampling`."""
    method = "dense" if num_nodes * num_nodes <= DENSE_PAIRS else "sparse"
    return negative_sampling(edge_index, num_nodes, num_samples, method=method)


class HardNegativeSampler:
    """Draws `(u, w)` pairs with `w` a neighbour of a neighbour of `u` on the training graph and
    `(u, w)` not an edge; `sample` fills any shortfall with uniform negatives."""

    def __init__(self, edge_index: Tensor, num_nodes: int) -> None:
        self.edge_index = edge_index
        self.num_nodes = num_nodes
        row, col = sort_edge_index(edge_index, num_nodes=num_nodes)
        self.rowptr = index2ptr(row, num_nodes)
        self.col = col
        self.degree = self.rowptr[1:] - self.rowptr[:-1]
        self.edge_keys = torch.unique(row * num_nodes + col)

    def _random_neighbour(self, nodes: Tensor) -> Tensor:
        offset = (torch.rand(nodes.numel(), device=nodes.device) * self.degree[nodes]).long()
        return self.col[self.rowptr[nodes] + offset]

    def _two_hop_pairs(self, sources: Tensor, num_draws: int) -> Tensor:
        u = sources[torch.randint(sources.numel(), (num_draws,), device=sources.device)]
        u = u[self.degree[u] > 0]
        w = self._random_neighbour(self._random_neighbour(u))
        keys = u * self.num_nodes + w
        found = torch.searchsorted(self.edge_keys, keys).clamp_max(self.edge_keys.numel() - 1)
        keep = (self.edge_keys[found] != keys) & (u != w)
        return torch.stack([u[keep], w[keep]])

    def sample(self, sources: Tensor, num_samples: int) -> Tensor:
        """`num_samples` negatives [2, num_samples] two hops from nodes drawn from `sources`."""
        hard = self._two_hop_pairs(sources, 2 * num_samples)
        for _ in range(2):  # walks back to the start or onto an edge are dropped; draw again
            if hard.size(1) >= num_samples:
                break
            hard = torch.cat([hard, self._two_hop_pairs(sources, 2 * num_samples)], dim=1)
        hard = hard[:, :num_samples]
        missing = num_samples - hard.size(1)
        if missing > 0:
            hard = torch.cat([hard, uniform_negatives(self.edge_index, self.num_nodes, missing)], 1)
        return hard


def sample_negatives(
    edge_index: Tensor,
    num_nodes: int,
    pos_edge: Tensor,
    *,
    hard_ratio: float = 0.0,
    hard_sampler: HardNegativeSampler | None = None,
) -> Tensor:
    """One fresh negative per positive in `pos_edge` [2, B]: uniform ones from
    `torch_geometric.utils.negative_sampling`, of which a `hard_ratio` share are hard."""
    num_samples = pos_edge.size(1)
    num_hard = int(round(hard_ratio * num_samples)) if hard_sampler is not None else 0
    uniform = uniform_negatives(edge_index, num_nodes, num_samples - num_hard)
    if num_hard == 0:
        return uniform
    return torch.cat([uniform, hard_sampler.sample(pos_edge[0], num_hard)], dim=1)
