"""Link-prediction datasets, all returned as one `LinkSplit` whatever their source.

`dataset` names: `synthetic` (a degree-corrected stochastic block model generated from the seed,
the offline default), `planetoid:Cora|CiteSeer|PubMed` (PyG, split with RandomLinkSplit),
`ogbl-<name>` (the ogb package, official split and Evaluator) and `edge_list:PATH` (a CSV or TSV
of node pairs, split by seed). Files already under `data_root` are used without downloading:
Planetoid's either as PyG writes them (`data_root/Cora/raw/...`, what `Planetoid(root, name)`
downloads) or under `data_root/planetoid/Cora`. A missing dataset is downloaded only when its
server answers within a few seconds and `$SWEEPER_OFFLINE` is unset; otherwise it is a one-line
error naming the folders looked in, without waiting on the network.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import os.path as osp
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.error import URLError

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import RandomLinkSplit
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

from sweeper.api import SweeperError

#: OGB link datasets with one node type and ranking metrics that this objective trains on.
OGB_DATASETS = ("ogbl-ddi", "ogbl-collab", "ogbl-ppa", "ogbl-citation2")
#: Where PyG's Planetoid and the ogb package download from.
PLANETOID_HOST = "github.com"
OGB_HOST = "snap.stanford.edu"
#: Seconds a download server has to accept a connection before the dataset counts as offline.
NETWORK_PROBE_S = 5.0
#: Set (to anything but 0) to never download: a missing dataset fails at once.
OFFLINE_ENV = "SWEEPER_OFFLINE"
PLANETOID_RAW = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


@dataclass(frozen=True)
class EvalEdges:
    """Positive edges to rank and the negatives they are ranked against.

    `neg` [2, Q] is one shared set of negatives (Hits@K); `neg_per_pos` [P, M], when present,
    holds M negative target nodes for each positive's source node (MRR).
    """

    pos: Tensor
    neg: Tensor
    neg_per_pos: Tensor | None = None

    def to(self, device: torch.device | str) -> EvalEdges:
        """The same edges on `device`."""
        neg_per_pos = None if self.neg_per_pos is None else self.neg_per_pos.to(device)
        return EvalEdges(self.pos.to(device), self.neg.to(device), neg_per_pos)


@dataclass(frozen=True)
class LinkSplit:
    """A graph split for link prediction: training graph, training positives, valid and test."""

    name: str
    num_nodes: int
    x: Tensor | None
    edge_index: Tensor
    train_pos: Tensor
    valid: EvalEdges
    test: EvalEdges
    ogb_name: str | None = None

    def to(self, device: torch.device | str) -> LinkSplit:
        """The same split with every tensor on `device`."""
        return replace(
            self,
            x=None if self.x is None else self.x.to(device),
            edge_index=self.edge_index.to(device),
            train_pos=self.train_pos.to(device),
            valid=self.valid.to(device),
            test=self.test.to(device),
        )

    def __repr__(self) -> str:
        return (
            f"LinkSplit({self.name}, num_nodes={self.num_nodes}, "
            f"train={self.train_pos.size(1)}, valid={self.valid.pos.size(1)}, "
            f"test={self.test.pos.size(1)})"
        )


def load_dataset(
    dataset: str,
    *,
    data_root: str = "data",
    seed: int = 0,
    num_nodes: int = 1000,
    num_communities: int = 20,
    avg_degree: float = 8.0,
    val_ratio: float = 0.1,
    test_ratio: float = 0.1,
    neg_sampling_ratio: float = 3.0,
) -> LinkSplit:
    """Load `dataset` (see the module docstring for names) as a LinkSplit; the sizes and ratios
    apply to the datasets split here (all but OGB's, which come with their official split)."""
    ratios = (val_ratio, test_ratio, neg_sampling_ratio)
    if dataset == "synthetic":
        data = Data(
            edge_index=synthetic_graph(num_nodes, num_communities, avg_degree, seed=seed),
            num_nodes=num_nodes,
        )
        return split_graph(data, "synthetic", *ratios, seed=seed)
    if dataset.startswith("planetoid:"):
        data = load_planetoid(dataset.split(":", 1)[1], data_root)
        return split_graph(data, dataset, *ratios, seed=seed)
    if dataset.startswith("edge_list:"):
        data = read_edge_list(dataset.split(":", 1)[1])
        return split_graph(data, dataset, *ratios, seed=seed)
    if dataset.startswith("ogbl-"):
        return load_ogb(dataset, data_root)
    raise SweeperError(f"dataset: unknown dataset {dataset!r}")


def synthetic_graph(
    num_nodes: int,
    num_communities: int,
    avg_degree: float,
    *,
    seed: int = 0,
    mixing: float = 0.2,
) -> Tensor:
    """An undirected degree-corrected stochastic block model as `edge_index` (both directions).

    Nodes get a community and a heavy-tailed degree propensity; each edge picks its source by
    propensity and its target by propensity within the source's community, or anywhere with
    probability `mixing`. Hubs and communities make embeddings useful and common neighbours weak.
    """
    gen = torch.Generator().manual_seed(seed)
    community = torch.randint(num_communities, (num_nodes,), generator=gen)
    theta = torch.rand(num_nodes, generator=gen).clamp_min(1e-3).pow(-1 / 1.5).clamp_max(50.0)

    num_draws = int(num_nodes * avg_degree / 2 * 1.15)
    src = torch.multinomial(theta, num_draws, replacement=True, generator=gen)

    order = torch.argsort(community, stable=True)
    cum = theta[order].cumsum(0)
    sizes = torch.bincount(community, minlength=num_communities)
    end = cum[(sizes.cumsum(0) - 1).clamp_min(0)]
    start = torch.cat([cum.new_zeros(1), end[:-1]])
    c = community[src]
    r = start[c] + torch.rand(num_draws, generator=gen) * (end[c] - start[c])
    dst = order[torch.searchsorted(cum, r).clamp_max(num_nodes - 1)]

    anywhere = torch.rand(num_draws, generator=gen) < mixing
    dst[anywhere] = torch.multinomial(theta, int(anywhere.sum()), replacement=True, generator=gen)

    edge_index, _ = remove_self_loops(torch.stack([src, dst]))
    return to_undirected(edge_index, num_nodes=num_nodes)


def split_graph(
    data: Data,
    name: str,
    val_ratio: float,
    test_ratio: float,
    neg_sampling_ratio: float = 3.0,
    *,
    seed: int = 0,
) -> LinkSplit:
    """Split an undirected graph's edges by seed with RandomLinkSplit, with `neg_sampling_ratio`
    negatives per positive in valid and test (fixed once split) and none in train (fresh ones
    are drawn every step)."""
    data = Data(x=data.x, edge_index=to_undirected(data.edge_index), num_nodes=data.num_nodes)
    transform = RandomLinkSplit(
        num_val=val_ratio,
        num_test=test_ratio,
        is_undirected=True,
        split_labels=True,
        add_negative_train_samples=False,
        neg_sampling_ratio=neg_sampling_ratio,
    )
    state = random.getstate()  # negative_sampling draws with Python's `random`
    try:
        random.seed(seed)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            train, val, test = transform(data)
    finally:
        random.setstate(state)
    return LinkSplit(
        name=name,
        num_nodes=int(data.num_nodes),
        x=data.x,
        edge_index=train.edge_index,
        train_pos=train.pos_edge_label_index,
        valid=EvalEdges(val.pos_edge_label_index, val.neg_edge_label_index),
        test=EvalEdges(test.pos_edge_label_index, test.neg_edge_label_index),
    )


def planetoid_roots(name: str, data_root: str) -> list[str]:
    """The roots `Planetoid(root, name)` may read `name` from: PyG's own layout
    (`data_root/NAME/raw`), then `data_root/planetoid/NAME/raw`."""
    return [data_root, osp.join(data_root, "planetoid")]


def _has_planetoid_files(root: str, name: str) -> bool:
    raw = osp.join(root, name, "raw")
    return all(osp.isfile(osp.join(raw, f"ind.{name.lower()}.{part}")) for part in PLANETOID_RAW)


def load_planetoid(name: str, data_root: str) -> Data:
    """Cora, CiteSeer or PubMed through PyG, from either layout under `data_root`; downloads
    (into `data_root/planetoid`) only when the raw files are missing and the network answers."""
    from torch_geometric.datasets import Planetoid

    roots = planetoid_roots(name, data_root)
    root = next((r for r in roots if _has_planetoid_files(r, name)), None)
    if root is None:
        looked = " or ".join(osp.join(r, name, "raw") for r in roots)
        require_network(PLANETOID_HOST, f"dataset: planetoid:{name} is not in {looked}")
        root = roots[-1]
    try:
        return Planetoid(root, name)[0]
    except Exception as error:  # fsspec, aiohttp and pickle errors alike: one line
        reason = " ".join(str(error).split()) or type(error).__name__
        raise SweeperError(
            f"dataset: planetoid:{name} could not be loaded from {osp.join(root, name)} "
            f"or downloaded ({reason})"
        ) from None


def require_network(host: str, missing: str, *, port: int = 443) -> None:
    """Return when `host` accepts a connection within NETWORK_PROBE_S seconds (DNS included);
    else raise SweeperError `missing`, saying why nothing was downloaded."""
    if os.environ.get(OFFLINE_ENV, "0") not in ("", "0"):
        raise SweeperError(f"{missing} (not downloaded: ${OFFLINE_ENV} is set)")
    answered: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=NETWORK_PROBE_S).close()
            answered.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)  # DNS has no timeout of its own
    thread.start()
    thread.join(NETWORK_PROBE_S)
    if not answered:
        raise SweeperError(f"{missing} and {host} cannot be reached to download it (offline?)")


def read_edge_list(path: str) -> Data:
    """A CSV or TSV of node pairs (ids are any strings; a non-numeric first row is a header)."""
    if not osp.isfile(path):
        raise SweeperError(f"dataset: edge list {path} does not exist")
    with open(path, newline="") as handle:
        sample = handle.read(4096)
        handle.seek(0)
        delimiter = "\t" if "\t" in sample else ","
        rows = [row for row in csv.reader(handle, delimiter=delimiter) if row and row[0].strip()]
    if (
        rows
        and not _is_number(rows[0][0])
        and not _is_number(rows[0][1] if len(rows[0]) > 1 else "")
    ):
        rows = rows[1:]
    if any(len(row) < 2 for row in rows):
        raise SweeperError(f"dataset: edge list {path} needs two columns on every line")
    ids: dict[str, int] = {}
    pairs = [
        (ids.setdefault(r[0].strip(), len(ids)), ids.setdefault(r[1].strip(), len(ids)))
        for r in rows
    ]
    if not pairs:
        raise SweeperError(f"dataset: edge list {path} has no edges")
    edge_index, _ = remove_self_loops(torch.tensor(pairs, dtype=torch.long).t())
    edge_index = coalesce(to_undirected(edge_index, num_nodes=len(ids)), num_nodes=len(ids))
    return Data(edge_index=edge_index, num_nodes=len(ids))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_ogb(name: str, data_root: str) -> LinkSplit:
    """An OGB link dataset with its official split; files under data_root are used as they are."""
    if name not in OGB_DATASETS:
        raise SweeperError(
            f"dataset: {name} is not supported (supported: {', '.join(OGB_DATASETS)})"
        )
    try:
        from ogb.linkproppred import PygLinkPropPredDataset
    except ImportError:
        raise SweeperError(
            f"dataset: {name} needs the ogb package; install the extra: "
            "pip install 'gnn-sweeper[ogb]'"
        ) from None
    folder = osp.join(data_root, "_".join(name.split("-")))
    if osp.isdir(folder) and not osp.exists(osp.join(folder, "RELEASE_v1.txt")):
        raise SweeperError(
            f"dataset: {folder} has no RELEASE_v1.txt (another OGB release?); ogb would ask on "
            "stdin whether to delete it: remove the folder or add the marker"
        )
    if not osp.isdir(folder):
        require_network(OGB_HOST, f"dataset: {name} is not in {folder}")
    try:
        # ogb and PyG print progress bars and "Processing..." while they convert the raw files
        # once; a sweep's output holds only its own lines.
        quiet = io.StringIO()
        with (
            torch.serialization.safe_globals(_ogb_safe_globals()),
            contextlib.redirect_stdout(quiet),
            contextlib.redirect_stderr(quiet),
        ):
            dataset = PygLinkPropPredDataset(name=name, root=data_root)
            split = dataset.get_edge_split()
    except (OSError, URLError) as error:
        raise SweeperError(
            f"dataset: {name} is not under {data_root} and could not be downloaded ({error})"
        ) from None
    data = dataset[0]
    num_nodes = int(data.num_nodes)
    x = data.x.float() if getattr(data, "x", None) is not None else None
    edge_index = coalesce(to_undirected(data.edge_index, num_nodes=num_nodes), num_nodes=num_nodes)
    if "source_node" in split["train"]:
        train_pos = torch.stack([split["train"]["source_node"], split["train"]["target_node"]])
        valid, test = (_ogb_ranking_edges(split[key]) for key in ("valid", "test"))
    else:
        train_pos = split["train"]["edge"].t()
        valid, test = (_ogb_shared_edges(split[key]) for key in ("valid", "test"))
    return LinkSplit(name, num_nodes, x, edge_index, train_pos.long(), valid, test, ogb_name=name)


def _ogb_safe_globals() -> list[Callable[..., Any] | tuple[Callable[..., Any], str]]:
    """Classes ogb 1.3.6's own `torch.load` calls meet in its processed and split files, allowed
    for `weights_only` loading (torch >= 2.6) instead of falling back to unpickling anything."""
    import numpy as np
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage

    try:
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]  # the same one
    # OGB's released split files were pickled under numpy 1, whose arrays name the reconstructor
    # `numpy.core.multiarray._reconstruct`; numpy 2 moved it to `numpy._core`. Allow both names.
    legacy_names = [
        (_reconstruct, "numpy.core.multiarray._reconstruct"),
        (_reconstruct, "numpy._core.multiarray._reconstruct"),
    ]
    dtypes = [
        np.dtypes.Int64DType,
        np.dtypes.Int32DType,
        np.dtypes.Float32DType,
        np.dtypes.Float64DType,
    ]
    return [
        DataEdgeAttr,
        DataTensorAttr,
        GlobalStorage,
        *legacy_names,
        np.ndarray,
        np.dtype,
        *dtypes,
    ]


def _ogb_shared_edges(part: dict[str, Tensor]) -> EvalEdges:
    return EvalEdges(part["edge"].t().long(), part["edge_neg"].t().long())


def _ogb_ranking_edges(part: dict[str, Tensor]) -> EvalEdges:
    src, dst, neg_dst = part["source_node"], part["target_node"], part["target_node_neg"]
    neg = torch.stack([src.view(-1, 1).expand_as(neg_dst).reshape(-1), neg_dst.reshape(-1)])
    return EvalEdges(torch.stack([src, dst]).long(), neg.long(), neg_dst.long())


def with_per_positive_negatives(
    edges: EvalEdges, num_nodes: int, num_negatives: int, *, seed: int = 0
) -> EvalEdges:
    """Add `num_negatives` random target nodes per positive (fixed by seed) when the dataset has
    none, so MRR can rank each positive against its own negatives."""
    if edges.neg_per_pos is not None:
        return edges
    gen = torch.Generator().manual_seed(seed)
    neg_dst = torch.randint(num_nodes, (edges.pos.size(1), num_negatives), generator=gen)
    return replace(edges, neg_per_pos=neg_dst)


def check_dataset(dataset: str, data_root: str) -> None:
    """Raise SweeperError with one line unless `dataset` is present (or can be downloaded) and
    loads; what the objective's pre-flight runs before a study is written."""
    if dataset == "synthetic":
        return
    if dataset.startswith("planetoid:"):
        load_planetoid(dataset.split(":", 1)[1], data_root)
    elif dataset.startswith("edge_list:"):
        read_edge_list(dataset.split(":", 1)[1])
    elif dataset.startswith("ogbl-"):
        load_ogb(dataset, data_root)
    else:
        raise SweeperError(f"dataset: unknown dataset {dataset!r}")
