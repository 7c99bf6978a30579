"""The first write-up's story on the real ogbl-ddi: its V2 run, and one configuration a
health-pruned sweep chose, each trained for the same wall-clock budget on this machine.

1. The sweep: `sweeper launch` of `examples/gcn-structural-v2.yaml`'s space on the real graph
   (the write-up's own run not queued, health rules on, a few short trials), as a user runs it.
   Its best finished trial is the chosen configuration.
2. Two long runs, each in a fresh process with the study file's fixed settings (plateau
   schedule, evaluation every 5 epochs), for as many epochs as fit in `--minutes`: V2, then
   the chosen one. The health rules run in shadow mode: every epoch's signals are recorded, the
   epoch and reason at which the health pruner would have stopped the run too, and nothing is
   stopped. Valid and test Hits@20 come from OGB's Evaluator.

The figure (`--plot`): test Hits@20 per evaluation, with the OGB leaderboard's GCN (0.371) and
common neighbours (0.177) and the write-up's final 0.024 as reference lines, beside the mean
cosine similarity of the node embeddings (the write-up saw 0.98).

    python benchmarks/seed_ddi.py --json                 # 2 x 30 min + the sweep, on 2 cores
    python benchmarks/seed_ddi.py --minutes 5 --sweep-trials 3
    python benchmarks/seed_ddi.py --v2-only --json       # the write-up's run alone, 30 min
    python benchmarks/seed_ddi.py --smoke --json         # seconds: 16 channels, 1 epoch each
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from _common import ROOT, json_line, parser_for
from trainer_speed_ddi import V2, prepared_root

STUDY_FILE = ROOT / "examples" / "gcn-structural-v2.yaml"
PLOT = ROOT / "benchmarks" / "results" / "seed-ddi.png"
REFERENCES = {"OGB GCN (0.371)": 0.371, "common neighbours (0.177)": 0.177}
WRITE_UP_TEST = 0.024
WRITE_UP_COSINE = 0.98
COSINE = "embedding_cosine_mean"  # the health signal the write-up called cosine similarity
#: The study file's fixed settings a long run keeps (epochs: as many as the budget allows).
FIXED = {"scheduler": "plateau", "eval_every": 5, "residual": 0.3, "seed": 0}


# --------------------------------------------------------------------------- the sweep
def sweep_config(data_root: str, trials: int, epochs: int, hidden: int | None) -> dict[str, Any]:
    """The V2 study file's space and fixed settings, for `trials` trials of `epochs` epochs
    on the local copy, without the queued write-up run (the sweep chooses on its own)."""
    config = yaml.safe_load(STUDY_FILE.read_text())
    config.pop("enqueue", None)
    config["study"] = "seed-ddi-sweep"
    config["n_trials"] = trials
    config["params"] |= {
        "data_root": data_root, "epochs": epochs, "eval_every": epochs, "patience": None,
    }  # fmt: skip
    if hidden is not None:  # --smoke: a narrow model, only to check the script runs
        config["space"]["hidden_channels"] = {"type": "categorical", "choices": [hidden]}
    return config


def run_sweep(data_root: str, trials: int, epochs: int, hidden: int | None) -> dict[str, Any]:
    """`sweeper launch` of the sweep (one worker on every core); the best trial's parameters,
    value and the sweep's prunes, read back from its SQLite storage."""
    import optuna

    with tempfile.TemporaryDirectory(prefix="seed-ddi-sweep-") as folder:
        study_file = Path(folder) / "sweep.yaml"
        study_file.write_text(yaml.safe_dump(sweep_config(data_root, trials, epochs, hidden)))
        url = f"sqlite:///{folder}/sweep.db"
        start = time.perf_counter()
        command = [sys.executable, "-m", "sweeper", "launch", str(study_file), "--storage", url]
        subprocess.run(command, check=True, cwd=ROOT, env=os.environ | {"PYTHONPATH": str(ROOT)})
        wall = time.perf_counter() - start
        study = optuna.load_study(study_name="seed-ddi-sweep", storage=url)
        trials_done = study.trials
        finished = [t for t in trials_done if t.state == optuna.trial.TrialState.COMPLETE]
        if not finished:
            raise SystemExit("seed_ddi: no trial of the sweep finished; nothing to choose")
        best = max(finished, key=lambda t: t.value or 0.0)
        return {
            "wall_s": wall,
            "trials": len(trials_done),
            "pruned": [
                {"number": t.number, "reason": t.user_attrs.get("prune_reason")}
                for t in trials_done
                if t.state == optuna.trial.TrialState.PRUNED
            ],
            "best_number": best.number,
            "best_valid_hits@20": best.value,
            "params": best.params,
        }


# --------------------------------------------------------------------------- a long run
def long_run(config: dict[str, Any], data_root: str, minutes: float, threads: int) -> dict:
    """Train `config` on the real graph until the next epoch would pass `minutes`, with the
    health rules in shadow mode; the epochs, evaluations, health series and shadow verdict."""
    import optuna
    import torch

    from objectives.link_prediction.graph import propagation_graph
    from objectives.link_prediction.model import build_model
    from objectives.link_prediction.negatives import NegativeSampler
    from objectives.link_prediction.objective import prepare_split, seed_everything
    from objectives.link_prediction.params import LinkPredictionParams
    from objectives.link_prediction.train import make_scheduler, test, train_epoch
    from sweeper.context import TrialContext
    from sweeper.health.config import HealthConfig
    from sweeper.health.monitor import HealthMonitor
    from sweeper.health.shadow import WOULD_PRUNE_ATTR, WOULD_PRUNE_EPOCH_ATTR
    from sweeper.pruners import HealthPruner

    torch.set_num_threads(threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start = time.perf_counter()
    p = LinkPredictionParams.model_validate(config | {"data_root": data_root, "epochs": 1_000_000})
    split = prepare_split(p, "hits@20", torch.device("cpu"))
    seed_everything(p.seed)
    model = build_model(p, split.num_nodes, None)
    optimizer = torch.optim.Adam(model.parameters(), lr=p.lr, weight_decay=p.weight_decay)
    scheduler = make_scheduler(optimizer, p)
    health = HealthConfig(mode="shadow")
    study = optuna.create_study(
        direction="maximize", pruner=HealthPruner(optuna.pruners.NopPruner(), health)
    )
    trial = study.ask()
    monitor = HealthMonitor.for_rules(health)
    ctx = TrialContext(trial, metric="hits@20", direction="maximize", monitor=monitor)
    graph = propagation_graph(split.edge_index, split.num_nodes)
    negatives = NegativeSampler(split.edge_index, split.num_nodes, graph)
    deadline = start + 60 * minutes
    evaluations: list[dict[str, float]] = []
    epoch_s: list[float] = []
    epoch = 0
    while True:
        epoch += 1
        began = time.perf_counter()
        train_epoch(model, split, optimizer, p, ctx, negatives=negatives, graph=graph)
        trained = time.perf_counter() - began
        last = time.perf_counter() + trained > deadline  # the next epoch would not fit
        if epoch % p.eval_every == 0 or last:
            valid, test_value = test(model, split, "hits@20", p.batch_size, graph)
            evaluations.append({"epoch": epoch, "valid": valid, "test": test_value})
            if scheduler is not None:
                scheduler.step(valid)
            ctx.report(epoch, valid)
        else:
            ctx.check_health(epoch)
        epoch_s.append(time.perf_counter() - began)
        if last:
            break
    attrs = study.trials[0].user_attrs
    return {
        "config": config,
        "minutes": minutes,
        "epochs": epoch,
        "median_epoch_s": sorted(epoch_s)[len(epoch_s) // 2],
        "wall_s": time.perf_counter() - start,
        "evaluations": evaluations,
        "would_prune": attrs.get(WOULD_PRUNE_ATTR),
        "would_prune_epoch": attrs.get(WOULD_PRUNE_EPOCH_ATTR),
        "series": monitor.series.to_json(),
    }


def run_in_process(config: dict[str, Any], data_root: str, minutes: float, threads: int) -> dict:
    """`long_run` in a fresh Python process, so each run has the machine's memory to itself."""
    command = [
        sys.executable, __file__, "--long-run", json.dumps(config), "--data-root", data_root,
        "--minutes", str(minutes), "--threads", str(threads),
    ]  # fmt: skip
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- the report
def summary(run: dict[str, Any]) -> dict[str, Any]:
    """The figures of one long run a reader compares: epochs, best valid and its test value,
    the last test value, the highest mean cosine and the shadow verdict."""
    evaluations = run["evaluations"]
    best = max(evaluations, key=lambda e: e["valid"])
    cosine = [c for c in run["series"].get(COSINE, []) if isinstance(c, float)]
    return {
        "epochs": run["epochs"],
        "median_epoch_s": run["median_epoch_s"],
        "best_valid": best["valid"],
        "test_at_best": best["test"],
        "best_epoch": best["epoch"],
        "last_test": evaluations[-1]["test"],
        "max_cosine_mean": max(cosine) if cosine else None,
        "last_cosine_mean": cosine[-1] if cosine else None,
        "would_prune_epoch": run["would_prune_epoch"],
        "would_prune": run["would_prune"],
    }


def plot(runs: dict[str, dict[str, Any]], path: Path) -> None:
    """Test Hits@20 per evaluation (with the reference lines) and the mean cosine per epoch,
    one line per run; a marker where the health pruner would have stopped it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (hits_ax, cos_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, run in runs.items():
        evaluations = run["evaluations"]
        epochs = [e["epoch"] for e in evaluations]
        (line,) = hits_ax.plot(epochs, [e["test"] for e in evaluations], "-o", ms=3, label=name)
        series = run["series"]
        cosine = [v if isinstance(v, float) else float("nan") for v in series.get(COSINE, [])]
        cos_ax.plot(series["epoch"], cosine, "-o", ms=2, color=line.get_color(), label=name)
        if run["would_prune_epoch"] is not None:
            for ax in (hits_ax, cos_ax):
                ax.axvline(run["would_prune_epoch"], color=line.get_color(), ls=":", lw=1)
    for (label, value), style in zip(REFERENCES.items(), ("--", "-."), strict=True):
        hits_ax.axhline(value, color="grey", ls=style, lw=1, label=label)
    hits_ax.axhline(WRITE_UP_TEST, color="red", ls=":", lw=1, label="write-up's final (0.024)")
    cos_ax.axhline(WRITE_UP_COSINE, color="red", ls=":", lw=1, label="write-up's 0.98")
    hits_ax.set(title="ogbl-ddi test Hits@20", xlabel="epoch", ylabel="Hits@20")
    cos_ax.set(title="node embeddings' mean cosine similarity", xlabel="epoch", ylim=(-0.05, 1.05))
    for ax in (hits_ax, cos_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.text(0.5, 0.005, "dotted verticals: where the health rules would have pruned", ha="center",
             fontsize=7)  # fmt: skip
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_report(sweep: dict[str, Any] | None, runs: dict[str, dict[str, Any]]) -> None:
    """The sweep's choice (when it ran) and one line per long run."""
    if sweep is not None:
        print_sweep(sweep)
    print(f"{'run':<8} {'epochs':>6} {'s/epoch':>7} {'best valid':>10} {'test@best':>9} "
          f"{'max cos':>7}  would prune")  # fmt: skip
    for name, run in runs.items():
        s = summary(run)
        verdict = "never" if s["would_prune"] is None else s["would_prune"]
        max_cos = "-" if s["max_cosine_mean"] is None else f"{s['max_cosine_mean']:.3f}"
        print(
            f"{name:<8} {s['epochs']:>6} {s['median_epoch_s']:>7.1f} {s['best_valid']:>10.4f} "
            f"{s['test_at_best']:>9.4f} {max_cos:>7}  {verdict}"
        )


def print_sweep(sweep: dict[str, Any]) -> None:
    """The sweep's trials, prunes and choice."""
    print(
        f"sweep: {sweep['trials']} trials in {sweep['wall_s']:.0f} s, {len(sweep['pruned'])} "
        f"pruned; best trial {sweep['best_number']} (valid Hits@20 "
        f"{sweep['best_valid_hits@20']:.4f}): {sweep['params']}"
    )
    for reason in sweep["pruned"]:
        print(f"  pruned trial {reason['number']}: {reason['reason']}")


def main(argv: list[str] | None = None) -> None:
    """Run the sweep and the two long runs (or, with --long-run, one run in this process)."""
    parser = parser_for(__doc__)
    parser.add_argument("--minutes", type=float, default=30.0, help="budget per long run")
    parser.add_argument("--sweep-trials", type=int, default=8, help="trials of the sweep")
    parser.add_argument("--sweep-epochs", type=int, default=3, help="epochs per sweep trial")
    parser.add_argument("--data-root", help="a folder holding ogbl_ddi (default: a temp copy)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--plot", type=Path, default=PLOT, help=f"PNG (default {PLOT})")
    parser.add_argument("--save", type=Path, help="write the whole record (series too) here")
    parser.add_argument(
        "--v2-only", action="store_true", help="skip the sweep: the write-up's V2 run alone"
    )
    parser.add_argument("--long-run", help=argparse.SUPPRESS)  # one run, in this process
    args = parser.parse_args(argv)
    if args.long_run:
        row = long_run(json.loads(args.long_run), args.data_root, args.minutes, args.threads)
        print(json.dumps(row))
        return
    hidden = 16 if args.smoke else None
    minutes, trials, epochs = (0.01, 1, 1) if args.smoke else (
        args.minutes, args.sweep_trials, args.sweep_epochs
    )  # fmt: skip
    root, holder = prepared_root(args.data_root)
    try:
        v2 = V2 | FIXED | ({"hidden_channels": hidden} if hidden else {})
        configs = {"V2": v2}
        sweep = None if args.v2_only else run_sweep(root, trials, epochs, hidden)
        if sweep is not None:
            configs["chosen"] = v2 | sweep["params"]
        runs = {}
        for name, config in configs.items():
            runs[name] = run_in_process(config, root, minutes, args.threads)
            print(f"  {name}: {json.dumps(summary(runs[name]))}", file=sys.stderr, flush=True)
    finally:
        if holder is not None:
            holder.cleanup()
    print_report(sweep, runs)
    plot(runs, args.plot)
    print(f"figure: {args.plot}")
    if args.save is not None:
        args.save.write_text(json_line({"sweep": sweep, "runs": runs}) + "\n")
    if args.json:
        print(json_line({"sweep": sweep, "runs": {k: summary(v) for k, v in runs.items()}}))


if __name__ == "__main__":
    main()
