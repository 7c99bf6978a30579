"""Writers of tiny datasets in OGB's and Planetoid's on-disk formats, for the loader tests."""

from __future__ import annotations

import gzip
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


def write_tiny_ogbl_ddi(root: Path, *, num_nodes: int = 40, numpy_splits: bool = False) -> dict:
    """Write `root/ogbl_ddi` as the ogb package lays it out after a download (raw CSVs holding the
    training graph, `split/target/{train,valid,test}.pt`, the release marker); return the split."""
    base = root / "ogbl_ddi"
    (base / "raw").mkdir(parents=True)
    (base / "split" / "target").mkdir(parents=True)
    (base / "RELEASE_v1.txt").write_text("ogbl-ddi tiny test copy\n")
    edges = _random_pairs(num_nodes, 150, seed=1)
    num_train = int(edges.size(1) * 0.8)
    num_valid = (edges.size(1) - num_train) // 2
    train = edges[:, :num_train]
    gen = torch.Generator().manual_seed(2)
    split = {
        "train": {"edge": train.t()},
        "valid": {
            "edge": edges[:, num_train : num_train + num_valid].t(),
            "edge_neg": torch.randint(num_nodes, (50, 2), generator=gen),
        },
        "test": {
            "edge": edges[:, num_train + num_valid :].t(),
            "edge_neg": torch.randint(num_nodes, (50, 2), generator=gen),
        },
    }
    lines = {
        "edge.csv.gz": [f"{u},{v}" for u, v in train.t().tolist()],
        "num-node-list.csv.gz": [str(num_nodes)],
        "num-edge-list.csv.gz": [str(train.size(1))],
    }
    for name, rows in lines.items():
        with gzip.open(base / "raw" / name, "wt") as handle:
            handle.write("\n".join(rows) + "\n")
    for part, value in split.items():
        stored = {k: v.numpy() for k, v in value.items()} if numpy_splits else value
        torch.save(stored, base / "split" / "target" / f"{part}.pt")
    return split


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
