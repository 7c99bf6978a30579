"""One epoch of the first write-up's V2 model on the real ogbl-ddi, three ways, on this machine:

- `ogb_sparse`: OGB's ddi example as written (`examples/linkproppred/ddi/gnn.py`): GCN over the
  sparse adjacency `adj_t` (torch.sparse CSR standing in for torch_sparse.SparseTensor), the MLP
  predictor, dense-checked negative sampling, clip 1.0, Adam;
- `edge_index`: the same loop with `edge_index` message passing, what a PyG user writes first;
- `project`: the sweep's own trainer (`train_epoch` with its health monitor and the end-of-epoch
  health check of a real Optuna trial) on the V2 configuration, in a worker's process setup.

All three use GCN 2x256 with the 2-layer predictor, batch 65,536 (17 optimizer steps), the same
torch threads, and run each in a fresh process, so that `peak_rss_mb` (the process's maximum
resident memory, loading included) belongs to one loop. Per epoch: wall seconds, user and sys
CPU seconds. `--hits` adds valid and test Hits@20 from OGB's Evaluator after the last epoch.

    python benchmarks/trainer_speed.py --dataset ogbl-ddi --json            # 2 epochs each
    python benchmarks/trainer_speed.py --dataset ogbl-ddi --epochs 5 --hits  # + Hits@20 at 5
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import ROOT, fmt, json_line

VARIANTS = ("ogb_sparse", "edge_index", "project")
SHARED_DDI = ROOT.parent / "shared" / "data" / "ogbl_ddi"
#: The write-up's V2 run (examples/gcn-structural-v2.yaml's queued trial and fixed settings).
V2: dict[str, Any] = {
    "dataset": "ogbl-ddi",
    "conv": "gcn",
    "num_layers": 2,
    "hidden_channels": 256,
    "decoder": "mlp",
    "batch_size": 65_536,
    "dropout": 0.2,
    "lr": 0.003,
    "clip_norm": 1.0,
    "norm": "layer_norm",
    "residual": 0.3,
    "diversity_weight": 0.01,
    "hard_negative_ratio": 0.05,
    "seed": 0,
}


def _rusage() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _project_loop(split: Any, p: Any) -> tuple[Callable[[], None], Callable[[], Any]]:
    """The sweep's trainer as a worker runs it, with a real trial's monitor."""
    import optuna
    import torch

    from objectives.link_prediction.graph import propagation_graph
    from objectives.link_prediction.model import build_model
    from objectives.link_prediction.negatives import NegativeSampler
    from objectives.link_prediction.train import score_edges, train_epoch
    from sweeper.context import TrialContext

    model = build_model(p, split.num_nodes, None)
    optimizer = torch.optim.Adam(model.parameters(), lr=p.lr, weight_decay=p.weight_decay)
    study = optuna.create_study(direction="maximize")
    ctx = TrialContext(study.ask(), device="cpu", metric="hits@20", direction="maximize")
    graph = propagation_graph(split.edge_index, split.num_nodes)
    negatives = NegativeSampler(split.edge_index, split.num_nodes, graph)
    epochs = iter(range(1, 1_000_000))

    def epoch() -> None:
        train_epoch(model, split, optimizer, p, ctx, negatives=negatives, graph=graph)
        ctx.check_health(next(epochs))

    @torch.no_grad()
    def scores() -> tuple[Any, ...]:
        model.eval()
        h = model.encode(split.x, graph)
        parts = (split.valid.pos, split.valid.neg, split.test.pos, split.test.neg)
        return tuple(score_edges(model, h, e, p.batch_size) for e in parts)

    return epoch, scores


def run_variant(
    variant: str, data_root: str, epochs: int, threads: int, hits: bool, hidden: int = 256
) -> dict:
    """Time `epochs` epochs of one variant in this process (`hidden` channels: 256 is V2's, a
    smaller width only checks that the script runs); its figures as a dict."""
    import optuna
    import torch
    from trainer_speed import ogb_loop

    from objectives.link_prediction.objective import prepare_split, seed_everything
    from objectives.link_prediction.params import LinkPredictionParams

    torch.set_num_threads(threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    p = LinkPredictionParams.model_validate(
        V2 | {"data_root": data_root, "hidden_channels": hidden}
    )
    split = prepare_split(p, "hits@20", torch.device("cpu"))
    seed_everything(p.seed)
    if variant == "project":
        epoch, scores = _project_loop(split, p)
    else:
        from objectives.link_prediction.graph import propagation_graph

        graph = (
            propagation_graph(split.edge_index, split.num_nodes)
            if variant == "ogb_sparse"
            else split.edge_index
        )
        epoch, scores = ogb_loop(p, split, graph)
    walls, users, syss = [], [], []
    for _ in range(epochs):
        user0, sys0 = _rusage()
        start = time.perf_counter()
        epoch()
        walls.append(time.perf_counter() - start)
        user1, sys1 = _rusage()
        users.append(user1 - user0)
        syss.append(sys1 - sys0)
    row: dict[str, Any] = {
        "epoch_s": statistics.median(walls),
        "user_s": statistics.median(users),
        "sys_s": statistics.median(syss),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "epochs": epochs,
    }
    if hits:
        from ogb.linkproppred import Evaluator

        evaluator = Evaluator(name="ogbl-ddi")
        valid_pos, valid_neg, test_pos, test_neg = scores()
        for name, pos, neg in (("valid", valid_pos, valid_neg), ("test", test_pos, test_neg)):
            result = evaluator.eval({"y_pred_pos": pos.float(), "y_pred_neg": neg.float()})
            row[f"{name}_hits@20"] = float(result["hits@20"])
    return row


def prepared_root(data_root: str | None) -> tuple[str, tempfile.TemporaryDirectory | None]:
    """A writable data_root holding ogbl_ddi: the given one, or a temporary copy of the shared
    real files; processed once here so that no variant's figures include OGB's conversion."""
    holder = None
    if data_root is None:
        holder = tempfile.TemporaryDirectory(prefix="ddi-speed-")
        data_root = holder.name
        for source in SHARED_DDI.rglob("*"):
            if source.is_file():
                target = Path(data_root) / "ogbl_ddi" / source.relative_to(SHARED_DDI)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    code = "from objectives.link_prediction.datasets import load_ogb; load_ogb('ogbl-ddi', %r)"
    subprocess.run([sys.executable, "-c", code % data_root], check=True, cwd=ROOT)
    return data_root, holder


def measure(
    data_root: str | None,
    epochs: int,
    threads: int,
    hits: bool,
    variants: tuple[str, ...],
    hidden: int = 256,
) -> dict[str, dict]:
    """Each variant in a fresh process, one after another (never two at once)."""
    root, holder = prepared_root(data_root)
    results = {}
    try:
        for variant in variants:
            command = [
                sys.executable, __file__, "--variant", variant, "--data-root", root,
                "--epochs", str(epochs), "--threads", str(threads), "--hidden", str(hidden),
            ]  # fmt: skip
            if hits:
                command.append("--hits")
            env = os.environ | {"PYTHONPATH": str(ROOT)}
            done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
            results[variant] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"  {variant}: {results[variant]}", file=sys.stderr)
    finally:
        if holder is not None:
            holder.cleanup()
    return results


def print_table(results: dict[str, dict], threads: int) -> None:
    """The figures per variant and the floors' ratios (project against the other two)."""
    print(f"ogbl-ddi, V2 model (GCN 2x256, MLP predictor, batch 65,536), {threads} torch threads")
    print(f"{'loop':<12} {'epoch s':>8} {'user s':>8} {'sys s':>7} {'sys %':>6} {'peak MB':>8}")
    for name, row in results.items():
        share = 100 * row["sys_s"] / max(row["user_s"] + row["sys_s"], 1e-9)
        print(
            f"{name:<12} {row['epoch_s']:>8.1f} {row['user_s']:>8.1f} {row['sys_s']:>7.1f} "
            f"{share:>6.1f} {row['peak_rss_mb']:>8.0f}"
            + "".join(f"  {k} {row[k]:.4f}" for k in row if k.endswith("hits@20"))
        )
    project = results.get("project")
    for other in ("ogb_sparse", "edge_index"):
        if project and other in results:
            ratio = project["epoch_s"] / results[other]["epoch_s"]
            print(f"project / {other}: {fmt(ratio, '.2f')}x epoch time")


def main(argv: list[str] | None = None) -> None:
    """`trainer_speed.py --dataset ogbl-ddi` (or this file, which also runs one variant)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ogbl-ddi", choices=["ogbl-ddi"])
    parser.add_argument("--data-root", help="a folder holding ogbl_ddi (default: a temp copy)")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per loop")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--hits", action="store_true", help="valid/test Hits@20 at the end")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # one loop, in this process
    parser.add_argument("--hidden", type=int, default=256, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    parser.add_argument("--quick", action="store_true", help="one epoch per loop")
    parser.add_argument("--smoke", action="store_true", help="seconds: 16 channels, one epoch")
    args = parser.parse_args(argv)
    if args.variant:
        row = run_variant(
            args.variant, args.data_root, args.epochs, args.threads, args.hits, args.hidden
        )
        print(json.dumps(row))
        return
    hidden = 16 if args.smoke else args.hidden
    epochs = 1 if args.quick or args.smoke else args.epochs
    variants = tuple(args.variants.split(","))
    results = measure(args.data_root, epochs, args.threads, args.hits, variants, hidden)
    print_table(results, args.threads)
    if args.json:
        print(json_line({"ogbl-ddi": results}))


if __name__ == "__main__":
    main()
