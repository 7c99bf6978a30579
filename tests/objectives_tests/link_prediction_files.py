"""A writer of tiny datasets in Planetoid's on-disk format, for the loader tests (OGB tests use
the real ogbl-ddi: tests/real_data.py)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch


def _random_pairs(num_nodes: int, num_edges: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    pairs = torch.randint(num_nodes, (2, num_edges * 3), generator=gen)
    pairs = pairs[:, pairs[0] < pairs[1]]
    return torch.unique(pairs, dim=1)[:, :num_edges]


def write_tiny_planetoid(root: Path, name: str = "Cora", *, num_nodes: int = 560) -> int:
    """Write the eight `ind.<name>.*` raw files Planetoid reads under `root/<name>/raw` and
    return the number of undirected edges. Planetoid takes 500 validation nodes after the
    labelled ones, so a graph needs a little over 500 nodes."""
    raw = root / name / "raw"
    raw.mkdir(parents=True)
    prefix = f"ind.{name.lower()}"
    rng = np.random.default_rng(0)
    num_features, num_classes, num_labelled, num_test = 16, 3, 20, 30
    num_all = num_nodes - num_test
    features = sp.csr_matrix((rng.random((num_nodes, num_features)) < 0.2).astype(np.float32))
    labels = np.eye(num_classes, dtype=np.int64)[rng.integers(num_classes, size=num_nodes)]
    edges = _random_pairs(num_nodes, 1500, seed=3)
    graph: dict[int, list[int]] = {node: [] for node in range(num_nodes)}
    for u, v in edges.t().tolist():
        graph[u].append(v)
        graph[v].append(u)
    objects = {
        "x": features[:num_labelled],
        "allx": features[:num_all],
        "tx": features[num_all:],
        "y": labels[:num_labelled],
        "ally": labels[:num_all],
        "ty": labels[num_all:],
        "graph": graph,
    }
    for key, value in objects.items():
        with open(raw / f"{prefix}.{key}", "wb") as handle:
            pickle.dump(value, handle)
    (raw / f"{prefix}.test.index").write_text(
        "\n".join(str(i) for i in range(num_all, num_nodes)) + "\n"
    )
    return edges.size(1)
