"""Negative edges for training: fresh uniform ones each step, a share of them hard.

A hard negative is a non-edge two hops away from a positive's source node (a neighbour of a
neighbour), the kind of pair a model that only learned "nearby means linked" scores too high.

Uniform negatives follow `torch_geometric.utils.negative_sampling` (a pair of distinct nodes
that is not an edge), but test candidates against the graph's edge keys sorted once per trial:
PyG rebuilds that index from `edge_index` on every call, which on ogbl-ddi (2.1 M edges, 17
steps an epoch) took about 5 s of a 60 s epoch.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import sort_edge_index
from torch_geometric.utils.sparse import index2ptr


class NegativeSampler:
    """Non-edges of one fixed training graph: `uniform` pairs, `two_hop` (hard) pairs, and
    `for_positives`, one negative per positive with a share of hard ones."""

    def __init__(self, edge_index: Tensor, num_nodes: int, adjacency: Tensor | None = None) -> None:
        """`adjacency`: the graph's sparse CSR `adj_t` (objectives.link_prediction.graph) when
        the training graph is undirected, as every loader here makes it; its index arrays are
        shared instead of sorting a copy of `edge_index` (about 50 MB less on ogbl-ddi)."""
        self.num_nodes = num_nodes
        if adjacency is not None and adjacency.layout == torch.sparse_csr:
            self.rowptr, self.col = adjacency.crow_indices(), adjacency.col_indices()
        else:
            row, self.col = sort_edge_index(edge_index, num_nodes=num_nodes)
            self.rowptr = index2ptr(row, num_nodes)
        self.degree = self.rowptr[1:] - self.rowptr[:-1]
        nodes = torch.arange(num_nodes, device=self.col.device)
        keys = torch.repeat_interleave(nodes, self.degree) * num_nodes + self.col
        if keys.numel() > 1 and not bool((keys[1:] > keys[:-1]).all()):
            keys = torch.unique(keys)  # unsorted or repeated pairs
        # Half the memory where every pair fits 32 bits (ogbl-ddi: 17 MB -> 8.5 MB).
        self.key_dtype = torch.int32 if num_nodes * num_nodes < 2**31 else torch.int64
        self.edge_keys = keys.to(self.key_dtype)

    def _is_edge(self, u: Tensor, w: Tensor) -> Tensor:
        keys = (u * self.num_nodes + w).to(self.key_dtype)
        if self.edge_keys.numel() == 0:
            return torch.zeros_like(keys, dtype=torch.bool)
        found = torch.searchsorted(self.edge_keys, keys).clamp_max(self.edge_keys.numel() - 1)
        return self.edge_keys[found] == keys

    def uniform(self, num_samples: int) -> Tensor:
        """`num_samples` uniform random pairs [2, num_samples] of distinct nodes, not edges."""
        device = self.col.device
        kept: list[Tensor] = []
        missing = num_samples
        for _ in range(100):  # a graph too dense to draw from gives fewer, as PyG's does
            if missing <= 0:
                break
            draws = int(missing * 1.2) + 16
            u = torch.randint(self.num_nodes, (draws,), device=device)
            w = torch.randint(self.num_nodes, (draws,), device=device)
            keep = (u != w) & ~self._is_edge(u, w)
            pairs = torch.stack([u[keep], w[keep]])[:, :missing]
            kept.append(pairs)
            missing -= pairs.size(1)
        return torch.cat(kept, dim=1) if kept else torch.empty(2, 0, dtype=torch.long)

    def _random_neighbour(self, nodes: Tensor) -> Tensor:
        offset = (torch.rand(nodes.numel(), device=nodes.device) * self.degree[nodes]).long()
        return self.col[self.rowptr[nodes] + offset]

    def _two_hop_pairs(self, sources: Tensor, num_draws: int) -> Tensor:
        u = sources[torch.randint(sources.numel(), (num_draws,), device=sources.device)]
        u = u[self.degree[u] > 0]
        w = self._random_neighbour(self._random_neighbour(u))
        keep = ~self._is_edge(u, w) & (u != w)
        return torch.stack([u[keep], w[keep]])

    def two_hop(self, sources: Tensor, num_samples: int) -> Tensor:
        """`num_samples` negatives [2, num_samples] two hops from nodes drawn from `sources`
        (topped up with uniform ones when too few walks end on a non-edge)."""
        hard = self._two_hop_pairs(sources, 2 * num_samples)
        for _ in range(2):  # walks back to the start or onto an edge are dropped; draw again
            if hard.size(1) >= num_samples:
                break
            hard = torch.cat([hard, self._two_hop_pairs(sources, 2 * num_samples)], dim=1)
        hard = hard[:, :num_samples]
        missing = num_samples - hard.size(1)
        if missing > 0:
            hard = torch.cat([hard, self.uniform(missing)], dim=1)
        return hard

    def for_positives(self, pos_edge: Tensor, hard_ratio: float = 0.0) -> Tensor:
        """One fresh negative per positive in `pos_edge` [2, B], uniform ones first, then a
        `hard_ratio` share two hops from the positives' sources."""
        num_samples = pos_edge.size(1)
        num_hard = int(round(hard_ratio * num_samples))
        uniform = self.uniform(num_samples - num_hard)
        if num_hard == 0:
            return uniform
        return torch.cat([uniform, self.two_hop(pos_edge[0], num_hard)], dim=1)
