"""Detection latency and false-prune rate of the health rules (their defaults) on real runs.

Sick runs inject a fault at a known epoch (the first symptom); latency is the number of epochs
from it to the prune. Healthy runs must never be pruned by a health rule. Also prints the
monitor's cost as a fraction of a training epoch.

    python benchmarks/health_latency.py            # the full set, a table
    python benchmarks/health_latency.py --quick    # fewer and shorter runs
    python benchmarks/health_latency.py --json     # the table, then one JSON object last
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import optuna
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sweeper.context import TrialContext  # noqa: E402
from sweeper.health import HealthMonitor  # noqa: E402
from sweeper.health.rules import RULE_NAMES  # noqa: E402
from sweeper.pruners import HealthPruner  # noqa: E402

EXPECTED = {
    "lr10": {"grad_explosion", "nonfinite"},
    "nan_loss": {"nonfinite"},
    "dead_relu": {"grad_vanishing"},
    "zero_weights": {"grad_vanishing"},
    "collapse": {"embedding_collapse"},
    "edge_decay": {"edge_collapse"},
}


@dataclass
class Run:
    """One training run: a model family, a fault (None: healthy) and when it starts."""

    family: str  # mlp | link | sem
    fault: str | None = None
    sick_from: int = 1
    lr: float = 1e-2
    seed: int = 0
    epochs: int = 50

    @property
    def name(self) -> str:
        kind = self.fault or "healthy"
        return f"{self.family}/{kind}@{self.sick_from}/lr={self.lr:g}/seed={self.seed}"


def _mlp_epoch_data(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(512, 16, generator=generator)
    y = torch.sin(x @ torch.randn(16, 1, generator=generator))
    return x, y


def train(run: Run, trial: optuna.Trial, ctx: TrialContext) -> float:
    """Train `run`, feeding the monitor and reporting every epoch; returns the last value."""
    torch.manual_seed(run.seed)
    if run.family == "sem":
        return _train_sem(run, ctx)
    if run.family == "link":
        return _train_link(run, ctx)
    x, y = _mlp_epoch_data(run.seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 1),
    )  # fmt: skip
    if run.fault == "zero_weights":
        for p in model.parameters():
            torch.nn.init.zeros_(p)
    optimizer = torch.optim.SGD(model.parameters(), lr=run.lr, momentum=0.9)
    value = math.inf
    for epoch in range(1, run.epochs + 1):
        if epoch == run.sick_from and run.fault == "lr10":
            for group in optimizer.param_groups:
                group["lr"] = 10.0
        if epoch == run.sick_from and run.fault == "dead_relu":
            with torch.no_grad():
                model[0].bias.fill_(-1e3)
        for start in range(0, 384, 64):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x[start : start + 64]), y[start : start + 64])
            if run.fault == "nan_loss" and epoch >= run.sick_from:
                loss = loss * math.nan
            loss.backward()
            ctx.monitor.clip_gradients(model, None)
            ctx.monitor.step(optimizer)
            ctx.monitor.observe_loss(loss.detach())
        with torch.no_grad():
            ctx.monitor.observe_embeddings(model[:4](x))
            value = torch.nn.functional.mse_loss(model(x[384:]), y[384:]).item()
        ctx.report(epoch, value)
    return value


def _train_link(run: Run, ctx: TrialContext) -> float:
    from torch_geometric.nn import GCNConv
    from torch_geometric.utils import negative_sampling, stochastic_blockmodel_graph

    sizes, p_in, p_out = [40, 40, 40], 0.25, 0.02
    probs = [[p_in if i == j else p_out for j in range(3)] for i in range(3)]
    edge_index = stochastic_blockmodel_graph(sizes, probs)
    n = sum(sizes)
    x = torch.randn(n, 16)
    convs = torch.nn.ModuleList([GCNConv(16, 32), GCNConv(32, 32)])
    optimizer = torch.optim.Adam(convs.parameters(), lr=run.lr)
    value = math.inf
    for epoch in range(1, run.epochs + 1):
        features = torch.ones_like(x) if run.fault == "collapse" and epoch >= run.sick_from else x
        optimizer.zero_grad()
        h = convs[1](convs[0](features, edge_index).relu(), edge_index)
        if run.fault == "collapse" and epoch >= run.sick_from:
            h = h - convs[1].bias  # constant input, no bias: every embedding is parallel
        neg = negative_sampling(edge_index, num_nodes=n)
        pos_out = (h[edge_index[0]] * h[edge_index[1]]).sum(-1)
        neg_out = (h[neg[0]] * h[neg[1]]).sum(-1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            torch.cat([pos_out, neg_out]),
            torch.cat([torch.ones_like(pos_out), torch.zeros_like(neg_out)]),
        )
        loss.backward()
        ctx.monitor.clip_gradients(convs, 1.0)
        ctx.monitor.step(optimizer)
        ctx.monitor.observe_loss(loss.detach())
        ctx.monitor.observe_embeddings(h.detach())
        ctx.monitor.observe_scores(pos_out.detach().sigmoid(), neg_out.detach().sigmoid())
        value = float(loss.detach())
        ctx.report(epoch, value)
    return value


def _train_sem(run: Run, ctx: TrialContext) -> float:
    d = 8
    truth = torch.triu(torch.ones(d, d), diagonal=1) * (torch.rand(d, d) < 0.4)
    x = torch.randn(400, d) @ torch.linalg.inv(
        torch.eye(d) - truth * (0.8 + 0.4 * torch.rand(d, d))
    )
    weight = torch.nn.Parameter(0.5 * truth + 0.01 * torch.randn(d, d))
    optimizer = torch.optim.Adam([weight], lr=run.lr)
    mask = 1 - torch.eye(d)
    value = math.inf
    for epoch in range(1, run.epochs + 1):
        lambda_sparse = 2000.0 if run.fault == "edge_decay" and epoch >= run.sick_from else 1e-3
        for start in range(0, 400, 100):
            batch = x[start : start + 100]
            optimizer.zero_grad()
            w = weight * mask
            recon = 10.0 * ((batch - batch @ w) ** 2).mean()
            sparse = lambda_sparse * w.abs().mean()
            acyclic = 1e-2 * (torch.linalg.matrix_exp(w * w).trace() - d)
            loss = recon + sparse + acyclic
            loss.backward()
            ctx.monitor.clip_gradients([weight], 1.0)
            ctx.monitor.step(optimizer)
            components = {"recon": recon, "sparse": sparse, "acyclic": acyclic}
            ctx.monitor.observe_loss(loss.detach(), components)
        with torch.no_grad():
            w = weight * mask
            ctx.monitor.observe_graph(
                int((w.abs() > 0.3).sum()), float(torch.linalg.matrix_exp(w * w).trace() - d)
            )
            value = float(((x - x @ w) ** 2).mean())
        ctx.report(epoch, value)
    return value


def runs(quick: bool) -> list[Run]:
    """The healthy and sick runs of the benchmark."""
    seeds = (0,) if quick else (0, 1, 2)
    epochs = 20 if quick else 50
    out: list[Run] = []
    for seed in seeds:
        out += [Run("mlp", lr=lr, seed=seed, epochs=epochs) for lr in (1e-3, 1e-2, 5e-2)]
        out += [Run("link", lr=lr, seed=seed, epochs=epochs) for lr in (3e-3, 1e-2)]
        out += [Run("sem", lr=lr, seed=seed, epochs=epochs) for lr in (5e-3, 2e-2)]
        for sick_from in (1, 5):
            out += [
                Run("mlp", "lr10", sick_from, seed=seed, epochs=epochs),
                Run("mlp", "nan_loss", sick_from, seed=seed, epochs=epochs),
                Run("mlp", "dead_relu", sick_from, seed=seed, epochs=epochs),
                Run("link", "collapse", sick_from, seed=seed, epochs=epochs),
                # +1: a graph whose edges never showed is slow growth, not a collapse
                Run("sem", "edge_decay", sick_from + 1, lr=5e-2, seed=seed, epochs=epochs),
            ]
        out.append(Run("mlp", "zero_weights", 1, seed=seed, epochs=epochs))
    return out


def execute(run: Run) -> dict[str, object]:
    """One run in its own study with the default health rules; its outcome."""
    study = optuna.create_study(direction="minimize", pruner=HealthPruner())
    study.optimize(lambda t: train(run, t, TrialContext(t, direction="minimize")), n_trials=1)
    trial = study.trials[0]
    reason = str(trial.user_attrs.get("prune_reason", ""))
    rule = reason.split(":", 1)[0] if reason.split(":", 1)[0] in RULE_NAMES else None
    epoch = int(reason.split(" at epoch ")[1].split()[0]) if rule else None
    latency = epoch - run.sick_from if (rule and run.fault) else None
    return {
        "run": run.name,
        "fault": run.fault,
        "rule": rule,
        "expected": bool(run.fault) and rule in EXPECTED[run.fault],
        "latency": latency,
        "reason": reason,
    }


def monitor_overhead(steps: int = 200, repeats: int = 7) -> tuple[float, float]:
    """The monitor's cost on a 3-layer 256-wide MLP epoch (`steps` steps, batch 256, CPU):
    (per-step overhead as a fraction of the epoch, embedding signals on 2,048 x 256 rows as a
    fraction of the epoch). Plain and monitored epochs alternate; medians of the ratios."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(128, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 1),
    )  # fmt: skip
    x, y = torch.randn(256, 128), torch.randn(256, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    embeddings = torch.randn(2048, 256)

    def epoch(monitor: HealthMonitor | None) -> tuple[float, float]:
        start = time.perf_counter()
        for _ in range(steps):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            if monitor is None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
            else:
                monitor.clip_gradients(model, 1.0)
                monitor.step(optimizer)
                monitor.observe_loss(loss.detach())
        middle = time.perf_counter()
        if monitor is not None:
            monitor.observe_embeddings(embeddings)
            monitor.end_epoch(1)
        return middle - start, time.perf_counter() - middle

    epoch(None), epoch(HealthMonitor())  # warm up
    step_ratios, embedding_ratios = [], []
    for _ in range(repeats):
        plain, _ = epoch(None)
        watched, closing = epoch(HealthMonitor())
        step_ratios.append(watched / plain - 1.0)
        embedding_ratios.append(closing / plain)
    return statistics.median(step_ratios), statistics.median(embedding_ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds, 20 epochs per run")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    args = parser.parse_args()
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    started = time.perf_counter()
    results = [execute(run) for run in runs(args.quick)]
    print(f"{'run':<42} {'rule':<20} {'latency':>7}  ok")
    for r in results:
        latency = "-" if r["latency"] is None else str(r["latency"])
        ok = r["expected"] if r["fault"] else r["rule"] is None
        print(f"{r['run']:<42} {str(r['rule'] or '-'):<20} {latency:>7}  {'yes' if ok else 'NO'}")

    healthy = [r for r in results if not r["fault"]]
    sick = [r for r in results if r["fault"]]
    false_prunes = sum(r["rule"] is not None for r in healthy)
    detected = [r for r in sick if r["expected"]]
    latencies = [int(r["latency"]) for r in detected]
    per_fault = {
        fault: max((int(r["latency"]) for r in detected if r["fault"] == fault), default=None)
        for fault in EXPECTED
    }
    overhead, epoch_end = monitor_overhead(50 if args.quick else 200)
    summary = {
        "healthy_runs": len(healthy),
        "false_prunes": false_prunes,
        "false_prune_rate": false_prunes / len(healthy),
        "sick_runs": len(sick),
        "detected_by_expected_rule": len(detected),
        "detection_rate": len(detected) / len(sick),
        "latency_mean": statistics.fmean(latencies) if latencies else None,
        "latency_max": max(latencies) if latencies else None,
        "latency_max_by_fault": per_fault,
        "monitor_step_overhead": overhead,
        "monitor_epoch_end_overhead": epoch_end,
        "seconds": time.perf_counter() - started,
    }
    print(
        f"\nfalse-prune rate {false_prunes}/{len(healthy)} = {summary['false_prune_rate']:.3g}; "
        f"detected {len(detected)}/{len(sick)}; latency mean {summary['latency_mean']} "
        f"max {summary['latency_max']} epochs; by fault {per_fault}; "
        f"monitor overhead per step {overhead:+.2%}, at epoch end {epoch_end:.2%} of a "
        f"{50 if args.quick else 200}-step epoch; {summary['seconds']:.0f} s"
    )
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
