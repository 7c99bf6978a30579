"""What the service adds to an epoch: reporting, health monitoring and the pruning decision,
against plain Optuna's `trial.report` + `trial.should_prune()`, on SQLite and PostgreSQL.

Part 1, storage (a trivial objective, so storage dominates): each epoch trains a 4-input linear
model for one step and then either
- plain:   `clip_grad_norm_`, `optimizer.step()`, `trial.report(value, epoch)`, `should_prune()`
           in a study whose pruner is `MedianPruner`, or
- service: `ctx.monitor.clip_gradients`, `ctx.monitor.step`, `ctx.monitor.observe_loss` and
           `ctx.report(epoch, value)` with a worker-like `TrialContext(health_sync_s=2.0)`, in a
           study whose pruner is `HealthPruner(MedianPruner)`.
Both run on the same storage (the service's `open_storage`: a WAL SQLite file, and a PostgreSQL
database `bench_<random>` created on 127.0.0.1 and dropped afterwards), in studies that first
hold `history` finished trials so the median pruner has something to compare with; the two paths'
measured trials alternate in ABBA order (neither always runs first, e.g. just after the other's
commit). The figure is the median wall time per epoch of all measured epochs of a path (printed
beside it: the quartiles of the per-trial-pair ratios, the run's own spread); the floor is
service/plain <= 1.1.

Part 2, the link-prediction default (`LinkPredictionParams()` on the synthetic graph): an epoch
of the objective's `train_epoch` with the HealthMonitor (and its `end_epoch`) against the same
epoch with a stand-in that only clips and steps; the monitor's share of an epoch is
(monitored - plain) / monitored, from mean CPU time per epoch over trials of `epochs` epochs,
the two sides alternating epoch by epoch (the monitor's budget is amortised over a trial, so a
median would hide the epochs on which it computes the embedding spectrum). Floor: <= 2%.

    python benchmarks/overhead.py --json           # ~5 min
    python benchmarks/overhead.py --quick --json   # ~2 min
    python benchmarks/overhead.py --smoke --json   # seconds
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from _common import fmt, json_line, parser_for, single_thread

PG_ADMIN = "host=127.0.0.1 port=5432 user=root dbname=postgres"
PG_URL = "postgresql://root@127.0.0.1:5432/{name}"
MEDIAN_ARGS = {"n_startup_trials": 2, "n_warmup_steps": 2}
FLOOR_RATIO = 1.1
FLOOR_SHARE = 0.02
BUDGETS = {  # (history trials, measured trials, epochs per trial, LP epochs per side)
    "full": (4, 20, 50, 100),
    "quick": (3, 8, 40, 30),
    "smoke": (1, 1, 5, 2),
}


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database on 127.0.0.1 (user root), dropped on exit; yields its URL."""
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.format(name=name)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def sqlite_database() -> Iterator[str]:
    """A fresh SQLite file in a temporary directory; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="bench_") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


def _tiny_problem(seed: int) -> tuple[Any, Any, Any, Any]:
    import torch

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 4, generator=generator)
    y = x @ torch.randn(4, 1, generator=generator)
    torch.manual_seed(seed)
    model = torch.nn.Linear(4, 1)
    return x, y, model, torch.optim.SGD(model.parameters(), lr=0.01)


def plain_trial(trial: Any, epochs: int, offset: float, times: list[float]) -> float:
    """Plain Optuna: train a step, clip, step, report, ask the pruner; per-epoch times."""
    import optuna
    import torch

    x, y, model, optimizer = _tiny_problem(trial.number)
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        trial.report(offset + epoch, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()
        times.append(time.perf_counter() - start)
    return offset + epochs


def service_trial(trial: Any, epochs: int, offset: float, times: list[float]) -> float:
    """The service: the same step fed through the health monitor and `ctx.report`."""
    import torch

    from sweeper.context import TrialContext

    ctx = TrialContext(trial, device="cpu", metric="value", direction="maximize", health_sync_s=2.0)
    x, y, model, optimizer = _tiny_problem(trial.number)
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            ctx.monitor.clip_gradients(model, 1.0)
            ctx.monitor.step(optimizer)
            ctx.monitor.observe_loss(loss.detach())
            ctx.report(epoch, offset + epoch)
            times.append(time.perf_counter() - start)
    finally:
        ctx.flush_health()
    return offset + epochs


def storage_overhead(url: str, history: int, measured: int, epochs: int) -> dict[str, Any]:
    """Median seconds per epoch of both paths on one storage; the paths' trials alternate."""
    import optuna

    from storage.engine import open_storage
    from sweeper.pruners import HealthPruner

    storage = open_storage(url)
    paths: dict[str, tuple[Callable[..., float], Any]] = {
        "plain": (plain_trial, optuna.pruners.MedianPruner(**MEDIAN_ARGS)),
        "service": (service_trial, HealthPruner(optuna.pruners.MedianPruner(**MEDIAN_ARGS))),
    }
    studies = {
        name: optuna.create_study(
            storage=storage, study_name=f"overhead-{name}", direction="maximize", pruner=pruner
        )
        for name, (_, pruner) in paths.items()
    }
    times: dict[str, list[float]] = {name: [] for name in paths}
    pair_ratios: list[float] = []
    for i in range(history + measured):
        order = list(paths) if i % 2 == 0 else list(reversed(paths))  # ABBA: no side always first
        medians: dict[str, float] = {}
        for name in order:
            run = paths[name][0]
            sink: list[float] = []
            # measured trials score best, so the median pruner lets them run to the end
            studies[name].optimize(
                lambda t, run=run, sink=sink, i=i: run(t, epochs, float(i), sink), n_trials=1
            )
            if i >= history:
                times[name].extend(sink[1:])  # the first epoch also creates the trial's rows
                medians[name] = statistics.median(sink[1:])
        if medians:
            pair_ratios.append(medians["service"] / medians["plain"])
    plain = statistics.median(times["plain"])
    service = statistics.median(times["service"])
    storage.engine.dispose()
    quartiles = statistics.quantiles(pair_ratios, n=4) if len(pair_ratios) > 1 else pair_ratios * 3
    return {
        "plain_ms": round(plain * 1e3, 3),
        "service_ms": round(service * 1e3, 3),
        "ratio": round(service / plain, 3),
        "pair_ratio_quartiles": [round(q, 3) for q in quartiles],
        "epochs_measured": len(times["plain"]),
        "meets_1.1x": service / plain <= FLOOR_RATIO,
    }


class PlainMonitor:
    """The monitor's API doing only what a loop without health monitoring does: clip, step."""

    def clip_gradients(self, model: Any, clip_norm: float | None = None) -> Any:
        import torch

        params = [p for p in model.parameters() if p.grad is not None]
        if clip_norm:
            return torch.nn.utils.clip_grad_norm_(params, clip_norm)
        return torch.zeros(())

    def step(self, optimizer: Any, scaler: Any = None) -> None:
        optimizer.step()

    def observe_loss(self, loss: Any, components: Any = None) -> None:
        return None

    def observe_embeddings(self, h: Any) -> None:
        return None

    def observe_scores(self, pos: Any, neg: Any) -> None:
        return None

    def end_epoch(self, epoch: int) -> dict[str, float]:
        return {}


class Stopwatch:
    """A clock that runs only between `start()` and `stop()`: the monitored loop's own time."""

    def __init__(self) -> None:
        self.total = 0.0
        self._since: float | None = None

    def start(self) -> None:
        self._since = time.perf_counter()

    def stop(self) -> None:
        if self._since is not None:
            self.total += time.perf_counter() - self._since
            self._since = None

    def __call__(self) -> float:
        running = 0.0 if self._since is None else time.perf_counter() - self._since
        return self.total + running


def monitor_share(epochs: int, repeats: int = 3) -> dict[str, Any]:
    """The HealthMonitor's share of a link-prediction epoch at the objective's defaults.

    Two copies of the same model train side by side, epoch by epoch in alternating order (so
    drifts of the machine's speed hit both): one feeds a fresh HealthMonitor, whose budget clock
    runs only during its own epochs, as in a trial; the other a stand-in that only clips and
    steps. After one warm-up epoch each, `repeats` trials of `epochs` epochs are measured; the
    monitor's first, always-computed embedding spectrum is counted. The share is the difference
    of mean CPU time per epoch over the monitored mean.
    """
    import torch

    from objectives.link_prediction.model import build_model
    from objectives.link_prediction.objective import prepare_split
    from objectives.link_prediction.params import LinkPredictionParams
    from objectives.link_prediction.train import train_epoch
    from sweeper.health import HealthMonitor
    from sweeper.health.budget import CostBudget

    p = LinkPredictionParams()
    split = prepare_split(p, "hits@20", torch.device("cpu"))
    times: dict[str, list[float]] = {"plain": [], "monitored": []}
    spectra = 0
    self_timed: list[float] = []  # the monitor's own timing of itself, per trial
    for _ in range(repeats):
        sides: dict[str, tuple[Any, Any, Any]] = {}
        for name in times:
            torch.manual_seed(0)
            model = build_model(p, split.num_nodes, None)
            optimizer = torch.optim.Adam(model.parameters(), lr=p.lr)
            sides[name] = (model, optimizer, SimpleNamespace(monitor=PlainMonitor()))
            train_epoch(model, split, optimizer, p, sides[name][2])  # warm-up
        clock = Stopwatch()
        monitor = HealthMonitor()
        monitor.budget = CostBudget(monitor.budget.share, clock=clock)
        sides["monitored"][2].monitor = monitor
        for epoch in range(1, epochs + 1):
            order = list(sides) if epoch % 2 else list(reversed(sides))
            for name in order:
                model, optimizer, ctx = sides[name]
                if name == "monitored":
                    clock.start()
                start = time.process_time()
                train_epoch(model, split, optimizer, p, ctx)
                signals = ctx.monitor.end_epoch(epoch)
                times[name].append(time.process_time() - start)
                clock.stop()
                spectra += "embedding_rank_ratio" in signals
        self_timed.append(monitor.budget.spent / monitor.budget.elapsed())
    monitored = statistics.fmean(times["monitored"])
    plain = statistics.fmean(times["plain"])
    differences = [m - q for m, q in zip(times["monitored"], times["plain"], strict=True)]
    share = (monitored - plain) / monitored
    error = statistics.stdev(differences) / len(differences) ** 0.5 / monitored
    return {
        "config": "LinkPredictionParams() on synthetic: GCN 2x256, MLP decoder, full batch",
        "monitored_ms": round(monitored * 1e3, 2),
        "plain_ms": round(plain * 1e3, 2),
        "share": round(share, 4),
        "share_standard_error": round(error, 4),
        "epochs_measured": len(times["plain"]),
        "spectrum_epochs": spectra,
        "self_timed_share": round(statistics.fmean(self_timed), 4),
        "meets_2pct": share <= FLOOR_SHARE,
    }


def main() -> None:
    """Measure both storages and the monitor's share; print the table (and JSON with --json)."""
    args = parser_for(__doc__).parse_args()
    single_thread()
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    history, measured, epochs, lp_epochs = BUDGETS[mode]
    results: dict[str, Any] = {"mode": mode, "storage": {}}
    for backend, database in (("sqlite", sqlite_database), ("postgresql", postgres_database)):
        with database() as url:
            results["storage"][backend] = storage_overhead(url, history, measured, epochs)
    results["monitor_share"] = monitor_share(lp_epochs)

    print(f"per-epoch cost, trivial objective, {epochs} epochs/trial, {history} history trials")
    print(
        f"{'storage':<12}{'plain ms':>10}{'service ms':>12}{'ratio':>8}{'pair ratios q1-q3':>20}"
        "  floor <= 1.1x"
    )
    for backend, row in results["storage"].items():
        q1, _, q3 = row["pair_ratio_quartiles"]
        print(
            f"{backend:<12}{row['plain_ms']:>10.2f}{row['service_ms']:>12.2f}"
            f"{row['ratio']:>8.2f}{f'{q1:.2f}-{q3:.2f}':>20}  "
            f"{'met' if row['meets_1.1x'] else 'NOT met'}"
        )
    share = results["monitor_share"]
    print(
        f"health monitor on the link-prediction default: {share['monitored_ms']:.1f} ms vs "
        f"{share['plain_ms']:.1f} ms per epoch, share {fmt(100 * share['share'], '.2f')}% "
        f"(floor <= 2%: {'met' if share['meets_2pct'] else 'NOT met'}); embedding spectrum on "
        f"{share['spectrum_epochs']} of {share['epochs_measured']} monitored epochs"
    )
    if args.json:
        print(json_line(results))


if __name__ == "__main__":
    main()
