"""How much an epoch of the link-prediction trainer costs next to a minimal loop written the
OGB ddi way (`examples/linkproppred/ddi/gnn.py`) on the same synthetic graph.

The minimal loop is the OGB example without anything else: learnable embedding, GCN, MLP
predictor, one dense-sampled negative per positive, clip_grad_norm_, Adam. The trainer's epoch
is `train_epoch` plus the end-of-epoch health check of a real in-memory Optuna trial (what a
sweep runs on every epoch without an evaluation). Both sides run one thread and use the same
model sizes; the epochs alternate between the two so background load hits both alike.

    python benchmarks/trainer_speed.py            # a table
    python benchmarks/trainer_speed.py --json     # the table, then one JSON object as last line
    python benchmarks/trainer_speed.py --quick    # fewer epochs
    python benchmarks/trainer_speed.py --dataset ogbl-ddi --json   # the real graph, three loops
                                                    # (benchmarks/trainer_speed_ddi.py)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import optuna
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torch_geometric.nn import GCNConv
from torch_geometric.utils import negative_sampling

from objectives.link_prediction.model import build_model
from objectives.link_prediction.objective import prepare_split
from objectives.link_prediction.params import LinkPredictionParams
from objectives.link_prediction.train import train_epoch
from sweeper.context import TrialContext

CONFIGS: dict[str, dict[str, Any]] = {
    "defaults (ddi settings, full batch)": {},
    "quickstart (hidden 64, batch 512)": {"hidden_channels": 64, "batch_size": 512},
}


class OgbGCN(torch.nn.Module):
    """The OGB ddi example's GCN."""

    def __init__(self, channels: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        self.convs = torch.nn.ModuleList(
            [GCNConv(channels, channels, cached=True) for _ in range(num_layers)]
        )
        self.dropout = dropout

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        for conv in self.convs[:-1]:
            x = F.dropout(F.relu(conv(x, edge_index)), p=self.dropout, training=self.training)
        return self.convs[-1](x, edge_index)


class OgbLinkPredictor(torch.nn.Module):
    """The OGB ddi example's LinkPredictor (an MLP on x_i * x_j with a sigmoid)."""

    def __init__(self, channels: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        sizes = [channels] * num_layers + [1]
        self.lins = torch.nn.ModuleList(
            [torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
        )
        self.dropout = dropout

    def forward(self, x_i: torch.Tensor, x_j: torch.Tensor) -> torch.Tensor:
        x = x_i * x_j
        for lin in self.lins[:-1]:
            x = F.dropout(F.relu(lin(x)), p=self.dropout, training=self.training)
        return torch.sigmoid(self.lins[-1](x))


def ogb_loop(
    p: LinkPredictionParams, split: Any, graph: torch.Tensor | None = None
) -> tuple[Callable[[], None], Callable[[], tuple[torch.Tensor, ...]]]:
    """OGB's `train()` on `split`, propagating through `graph` (default `edge_index`; the
    example's own `adj_t` is a sparse adjacency), and the scores its `test()` computes: valid
    and test positives and negatives."""
    graph = split.edge_index if graph is None else graph
    emb = torch.nn.Embedding(split.num_nodes, p.hidden_channels)
    torch.nn.init.xavier_uniform_(emb.weight)
    model = OgbGCN(p.hidden_channels, p.num_layers, p.dropout)
    predictor = OgbLinkPredictor(p.hidden_channels, p.decoder_layers, p.dropout)
    parameters = [*model.parameters(), *emb.parameters(), *predictor.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=p.lr)
    edge_index, pos_train_edge = split.edge_index, split.train_pos.t()

    def epoch() -> None:
        model.train()
        predictor.train()
        for perm in DataLoader(range(pos_train_edge.size(0)), p.batch_size, shuffle=True):
            optimizer.zero_grad()
            h = model(emb.weight, graph)
            edge = pos_train_edge[perm].t()
            pos_out = predictor(h[edge[0]], h[edge[1]])
            pos_loss = -torch.log(pos_out + 1e-15).mean()
            edge = negative_sampling(
                edge_index, num_nodes=split.num_nodes, num_neg_samples=perm.size(0), method="dense"
            )
            neg_out = predictor(h[edge[0]], h[edge[1]])
            neg_loss = -torch.log(1 - neg_out + 1e-15).mean()
            loss = pos_loss + neg_loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(emb.weight, 1.0)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            torch.nn.utils.clip_grad_norm_(predictor.parameters(), 1.0)
            optimizer.step()

    @torch.no_grad()
    def scores() -> tuple[torch.Tensor, ...]:
        model.eval()
        predictor.eval()
        h = model(emb.weight, graph)

        def score(edges: torch.Tensor) -> torch.Tensor:
            batches = range(0, edges.size(1), p.batch_size)
            pairs = [edges[:, i : i + p.batch_size] for i in batches]
            return torch.cat([predictor(h[e[0]], h[e[1]]) for e in pairs]).view(-1)

        parts = (split.valid.pos, split.valid.neg, split.test.pos, split.test.neg)
        return tuple(score(e) for e in parts)

    return epoch, scores


def minimal_epoch_fn(p: LinkPredictionParams, split: Any) -> Callable[[], None]:
    """One epoch of the OGB example's `train()` on `split`, over `edge_index`."""
    return ogb_loop(p, split)[0]


def trainer_epoch_fn(p: LinkPredictionParams, split: Any) -> Callable[[], None]:
    """One epoch of the objective's trainer, closed by the health check of a real trial."""
    model = build_model(p, split.num_nodes, None)
    optimizer = torch.optim.Adam(model.parameters(), lr=p.lr)
    study = optuna.create_study(direction="maximize")
    ctx = TrialContext(study.ask(), device="cpu", metric="hits@20", direction="maximize")
    epochs = iter(range(1, 1_000_000))

    def epoch() -> None:
        train_epoch(model, split, optimizer, p, ctx)
        ctx.check_health(next(epochs))

    return epoch


def measure(config: dict[str, Any], epochs: int, warmup: int) -> dict[str, float]:
    """Median seconds per epoch of both loops on the synthetic default with `config`."""
    p = LinkPredictionParams(**config)
    split = prepare_split(p, "hits@20", torch.device("cpu"))
    torch.manual_seed(0)
    loops = {"minimal": minimal_epoch_fn(p, split), "trainer": trainer_epoch_fn(p, split)}
    times: dict[str, list[float]] = {name: [] for name in loops}
    for i in range(warmup + epochs):
        for name, run_epoch in loops.items():
            start = time.perf_counter()
            run_epoch()
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    minimal, trainer = (statistics.median(times[name]) for name in ("minimal", "trainer"))
    return {"minimal_ms": minimal * 1e3, "trainer_ms": trainer * 1e3, "ratio": trainer / minimal}


def main() -> None:
    """Measure every configuration and print the table (and the JSON line with --json)."""
    if "--dataset" in sys.argv:
        import trainer_speed_ddi

        trainer_speed_ddi.main(sys.argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--quick", action="store_true", help="fewer epochs (a rough figure)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    epochs, warmup = (10, 2) if args.quick else (40, 5)
    results = {name: measure(config, epochs, warmup) for name, config in CONFIGS.items()}
    print(f"link-prediction trainer vs minimal OGB-style loop, synthetic default, {epochs} epochs")
    print(f"{'configuration':<40} {'minimal ms':>11} {'trainer ms':>11} {'ratio':>7}")
    for name, row in results.items():
        print(
            f"{name:<40} {row['minimal_ms']:>11.1f} {row['trainer_ms']:>11.1f} {row['ratio']:>7.2f}"
        )
    if args.json:
        print(json.dumps({"epochs": epochs, "results": results}))


if __name__ == "__main__":
    main()
