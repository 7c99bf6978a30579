"""What health pruning buys: the same study run with four pruners, on both objectives.

For each objective (link_prediction on the synthetic graph, causal_dag on Sachs) and each sampler
seed, the same study — same search space, same `TPESampler(seed=s)`, same trial budget — runs in
four arms that differ only in the pruner:

- none: `NopPruner` (every trial trains to the end, unless the objective itself stops it);
- median: Optuna's `MedianPruner` with the study file's arguments;
- threshold_nan: Optuna's `ThresholdPruner` with infinite bounds, which prunes a NaN value only;
- health: our `HealthPruner` (default rules) wrapping the same `MedianPruner`.

Trials run in-process, one after another, on one torch thread; an arm's studies run in parallel
processes (`--jobs`). Per arm: compute_s (CPU-seconds inside the objective), epochs (trained),
best (the best COMPLETE value, Optuna's `best_value`), compute_to_best_s (compute up to and
including the trial that first reached it), wasted_s (compute on trials that ended unhealthy:
a default health rule fires at some epoch of the health series the trial recorded, evaluated
offline epoch by epoch exactly as the HealthPruner would; the same label for every arm).

    python benchmarks/pruning.py --json            # 3 seeds, ~30-40 min on 2 cores
    python benchmarks/pruning.py --quick --json    # seed 0, fewer trials, <= 10 min
    python benchmarks/pruning.py --smoke --json    # 2 trials of 3 epochs: checks it runs
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from _common import ROOT, fmt, json_line, median, parser_for, single_thread

ARMS = ("none", "median", "threshold_nan", "health")
WITHIN = 0.01  # "reaches the none arm's best within 1%"
FLOOR_VS_NONE = 3.0
FLOOR_VS_MEDIAN = 1.5
HEALTH_SYNC_S = 2.0  # as workers run trials

# The link-prediction study: examples/quickstart.yaml's data, epochs and pruner, searching the
# knobs the GCN-Structural write-up turned (learning rate up to high values, clipping from off to
# large, 1-4 layers, width, dropout, normalisation, diversity loss, hard negatives).
LINK_PREDICTION = {
    "study": "bench-link-prediction",
    "objective": "link_prediction",
    "direction": "maximize",
    "metric": "hits@20",
    "n_trials": 20,
    "sampler": {"name": "tpe", "seed": 0},
    "pruner": {"name": "median", "args": {"n_startup_trials": 4, "n_warmup_steps": 10}},
    "params": {"dataset": "synthetic", "epochs": 30, "eval_every": 5, "batch_size": 512, "seed": 0},
    "space": {
        "lr": {"type": "float", "low": 1.0e-4, "high": 0.3, "log": True},
        "clip_norm": {"type": "categorical", "choices": [None, 0.1, 1.0, 10.0, 100.0]},
        "num_layers": {"type": "int", "low": 1, "high": 4},
        "hidden_channels": {"type": "categorical", "choices": [64, 128, 256]},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5},
        "norm": {
            "type": "categorical",
            "choices": ["none", "batch_norm", "layer_norm", "graph_norm"],
        },
        "diversity_weight": {"type": "float", "low": 1.0e-4, "high": 0.1, "log": True},
        "hard_negative_ratio": {"type": "float", "low": 0.0, "high": 0.3},
    },
}
CAUSAL_FILE = ROOT / "examples" / "causal-sachs.yaml"  # its space holds the write-up's values

BUDGETS = {  # (seeds, link_prediction trials, causal_dag trials, epochs override or None)
    "full": ((0, 1, 2), 20, 30, None),
    "quick": ((0,), 12, 15, None),
    "smoke": ((0,), 2, 2, 3),
}


@dataclass
class TrialRecord:
    """One trial of one arm: its outcome, what it cost, and whether it ended unhealthy."""

    number: int
    state: str
    value: float | None
    compute_s: float
    epochs: int
    reason: str | None
    unhealthy: str | None  # the first health rule that fires on its series, or None


def study_config(key: str, n_trials: int, epochs: int | None) -> Any:
    """The objective's study file as a validated `StudyConfig` with this run's budget."""
    import yaml

    from sweeper.config import parse_config

    if key == "link_prediction":
        data = {**LINK_PREDICTION, "params": dict(LINK_PREDICTION["params"])}
    else:
        data = yaml.safe_load(CAUSAL_FILE.read_text())
    data["n_trials"] = n_trials
    if epochs is not None:
        data["params"] = {**data["params"], "epochs": epochs}
    return parse_config(data)


def make_pruner(arm: str, config: Any) -> Any:
    """The arm's pruner; median and health use the study file's median arguments."""
    import optuna

    from sweeper.pruners import HealthPruner

    if arm == "none":
        return optuna.pruners.NopPruner()
    if arm == "threshold_nan":
        return optuna.pruners.ThresholdPruner(lower=-math.inf, upper=math.inf)
    median_pruner = optuna.pruners.MedianPruner(**config.pruner.args)
    return median_pruner if arm == "median" else HealthPruner(median_pruner, {})


def first_unhealthy(series: Any, maximize: bool) -> str | None:
    """The first default health rule that fires at any epoch of `series`, replayed epoch by
    epoch with the metric values reported so far (what the HealthPruner sees live)."""
    from sweeper.health.config import HealthConfig
    from sweeper.health.reporting import VALUE_SIGNAL
    from sweeper.health.rules import evaluate
    from sweeper.health.series import HealthSeries

    config = HealthConfig()
    replay = HealthSeries()
    metric: dict[int, float] = {}
    names = series.names()
    for row, epoch in enumerate(series.epochs):
        replay.record(epoch, {name: series.values(name)[row] for name in names})
        value = series.values(VALUE_SIGNAL)[row]
        if value is not None:
            metric[epoch] = value
        verdict = evaluate(config, replay, metric, epoch=epoch, maximize=maximize)
        if verdict is not None:
            return verdict.rule
    return None


def run_arm(key: str, arm: str, seed: int, n_trials: int, epochs: int | None) -> dict[str, Any]:
    """Run one arm's study for one sampler seed; the per-trial records and the wall time."""
    single_thread()
    import optuna
    import torch
    from optuna.trial import TrialState

    from objectives.registry import resolve_objective
    from sweeper.context import TrialContext
    from sweeper.search_space import suggest_params

    config = study_config(key, n_trials, epochs)
    objective = resolve_objective(config.objective)
    _warm_up(config, objective)
    study = optuna.create_study(
        direction=config.direction,
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=make_pruner(arm, config),
    )
    maximize = config.direction == "maximize"
    records: list[TrialRecord] = []
    start_wall = time.perf_counter()
    for _ in range(n_trials):
        trial = study.ask()
        params = suggest_params(trial, config)
        ctx = TrialContext(
            trial,
            device="cpu",
            metric=config.metric,
            direction=config.direction,
            health_sync_s=HEALTH_SYNC_S,
        )
        value, state, reason = None, TrialState.COMPLETE, None
        start = time.process_time()
        try:
            value = float(objective(trial, params, ctx))
        except optuna.TrialPruned as pruned:
            state, reason = TrialState.PRUNED, str(pruned)
        except (RuntimeError, ValueError) as error:
            state, reason = TrialState.FAIL, f"{type(error).__name__}: {error}"[:200]
        compute = time.process_time() - start
        ctx.flush_health()
        if state == TrialState.COMPLETE and not math.isfinite(value):
            state, reason = TrialState.FAIL, f"non-finite value {value}"
        study.tell(trial, value if state == TrialState.COMPLETE else None, state=state)
        series = ctx.monitor.series
        records.append(
            TrialRecord(
                number=trial.number,
                state=state.name,
                value=value if state == TrialState.COMPLETE else None,
                compute_s=compute,
                epochs=len(series.epochs),
                reason=reason,
                unhealthy=first_unhealthy(series, maximize),
            )
        )
        torch.manual_seed(0)  # nothing carries over from one trial's RNG use to the next
    return {
        "key": key,
        "arm": arm,
        "seed": seed,
        "wall_s": time.perf_counter() - start_wall,
        "trials": [asdict(r) for r in records],
    }


def _warm_up(config: Any, objective: Any) -> None:
    """Run one 2-epoch trial outside any arm, so no arm pays inside a trial for what a process
    does once (imports, dataset loading and caching, first-call kernel set-up)."""
    import optuna

    from sweeper.context import TrialContext
    from sweeper.search_space import suggest_params

    short = config.model_copy(update={"params": {**config.params, "epochs": 2}})
    study = optuna.create_study(
        direction=config.direction, sampler=optuna.samplers.RandomSampler(seed=12345)
    )
    trial = study.ask()
    ctx = TrialContext(trial, device="cpu", metric=config.metric, direction=config.direction)
    try:
        objective(trial, suggest_params(trial, short), ctx)
    except (optuna.TrialPruned, RuntimeError, ValueError):
        pass


def summarise(trials: list[dict[str, Any]], maximize: bool) -> dict[str, Any]:
    """An arm's figures for one seed from its trial records (in the order they ran)."""
    better = (lambda a, b: a > b) if maximize else (lambda a, b: a < b)
    best, to_best, spent = None, None, 0.0
    for t in trials:
        spent += t["compute_s"]
        if t["state"] == "COMPLETE" and (best is None or better(t["value"], best)):
            best, to_best = t["value"], spent
    states = {s: sum(t["state"] == s for t in trials) for s in ("COMPLETE", "PRUNED", "FAIL")}
    pruned_by: dict[str, int] = {}
    unhealthy_by: dict[str, int] = {}
    for t in trials:
        if t["state"] == "PRUNED":
            rule = (t["reason"] or "?").split(":", 1)[0]
            pruned_by[rule] = pruned_by.get(rule, 0) + 1
        if t["unhealthy"]:
            unhealthy_by[t["unhealthy"]] = unhealthy_by.get(t["unhealthy"], 0) + 1
    return {
        "compute_s": round(spent, 2),
        "epochs": sum(t["epochs"] for t in trials),
        "best": best,
        "compute_to_best_s": None if to_best is None else round(to_best, 2),
        "wasted_s": round(sum(t["compute_s"] for t in trials if t["unhealthy"]), 2),
        "trials": len(trials),
        **{s.lower(): n for s, n in states.items()},
        "pruned_by": pruned_by,
        "unhealthy_trials": sum(unhealthy_by.values()),
        "unhealthy_by": unhealthy_by,
    }


def reached(value: float | None, target: float | None, maximize: bool) -> bool:
    """Whether `value` is within WITHIN (relative) of `target`, or better."""
    if value is None or target is None:
        return False
    slack = WITHIN * abs(target)
    return value >= target - slack if maximize else value <= target + slack


def compute_to_reach(trials: list[dict[str, Any]], target: float | None, maximize: bool) -> Any:
    """Compute spent until a COMPLETE trial first came within WITHIN of `target`, or None."""
    spent = 0.0
    for t in trials:
        spent += t["compute_s"]
        if t["state"] == "COMPLETE" and reached(t["value"], target, maximize):
            return round(spent, 2)
    return None


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 2)


def seed_floors(seed: int, figures: dict[str, dict[str, Any]], maximize: bool) -> dict[str, Any]:
    """One seed's floor figures: whether the health arm reached the none arm's best within 1%,
    how much less compute it needed to get there than the none and median arms, and the total
    compute ratios of the whole trial budget."""
    health, none, med = figures["health"], figures["none"], figures["median"]
    health_reach = health["compute_to_none_best_s"]
    median_reach = med["compute_to_none_best_s"]
    return {
        "seed": seed,
        "health_best": health["best"],
        "none_best": none["best"],
        "reaches_none_best": reached(health["best"], none["best"], maximize),
        "health_to_reach_s": health_reach,
        "none_to_best_s": none["compute_to_best_s"],
        "median_to_reach_s": median_reach,
        "median_never_reached": median_reach is None,
        "none_over_health_to_reach": _ratio(none["compute_to_best_s"], health_reach),
        "median_over_health_to_reach": _ratio(
            med["compute_s"] if median_reach is None else median_reach, health_reach
        ),
        "none_over_health_compute": _ratio(none["compute_s"], health["compute_s"]),
        "median_over_health_compute": _ratio(med["compute_s"], health["compute_s"]),
        "sick_free_bound": _ratio(none["compute_s"], none["compute_s"] - none["wasted_s"]),
    }


def median_counting_misses(ratios: Any) -> float:
    """The median of per-seed ratios where a seed whose health arm never got there (None)
    counts as 0, so a majority of misses fails the floor instead of vanishing from it."""
    values = [0.0 if r is None else r for r in ratios]
    return round(median(values) or 0.0, 2)


def objective_result(key: str, runs: list[dict[str, Any]], maximize: bool) -> dict[str, Any]:
    """Per-arm medians over seeds, per-seed figures, and the issue's floors for one objective."""
    per_seed: dict[str, list[dict[str, Any]]] = {arm: [] for arm in ARMS}
    floors_per_seed = []
    seeds = sorted({r["seed"] for r in runs})
    for seed in seeds:
        by_arm = {r["arm"]: r["trials"] for r in runs if r["seed"] == seed}
        figures = {arm: summarise(by_arm[arm], maximize) for arm in ARMS}
        target = figures["none"]["best"]
        for arm in ARMS:
            figures[arm]["seed"] = seed
            figures[arm]["compute_to_none_best_s"] = compute_to_reach(by_arm[arm], target, maximize)
            per_seed[arm].append(figures[arm])
        floors_per_seed.append(seed_floors(seed, figures, maximize))
    arms: dict[str, Any] = {}
    for arm in ARMS:
        rows = per_seed[arm]
        arms[arm] = {
            name: median(r[name] for r in rows)
            for name in (
                "compute_s",
                "epochs",
                "best",
                "compute_to_best_s",
                "wasted_s",
                "compute_to_none_best_s",
                "unhealthy_trials",
                "pruned",
            )
        }
        arms[arm]["per_seed"] = rows
    reach_none = median_counting_misses(f["none_over_health_to_reach"] for f in floors_per_seed)
    reach_median = median_counting_misses(f["median_over_health_to_reach"] for f in floors_per_seed)
    floors = {
        "definition": (
            "per seed: the compute the health arm spent until a COMPLETE trial came within 1% of "
            "the none arm's best, against the compute the none arm spent until its best and the "
            "median arm spent until it came within 1% of the same value (its whole study when it "
            "never did: a lower bound); a seed where the health arm never reached it counts as a "
            "miss (ratio 0); floors are medians over seeds"
        ),
        "reaches_none_best": sum(f["reaches_none_best"] for f in floors_per_seed) * 2
        > len(floors_per_seed),
        "none_over_health_to_reach": reach_none,
        "median_over_health_to_reach": reach_median,
        "meets_3x_vs_none": reach_none >= FLOOR_VS_NONE,
        "meets_1.5x_vs_median": reach_median >= FLOOR_VS_MEDIAN,
        "total_compute": {
            "note": "the whole trial budget's compute, whatever each arm's best",
            "none_over_health": median(f["none_over_health_compute"] for f in floors_per_seed),
            "median_over_health": median(f["median_over_health_compute"] for f in floors_per_seed),
            "sick_free_bound": median(f["sick_free_bound"] for f in floors_per_seed),
            "sick_free_bound_note": (
                "none's compute over its compute on trials that stayed healthy: what stopping "
                "every unhealthy trial at its first epoch would save on the same trials, with "
                "no base pruner"
            ),
        },
        "per_seed": floors_per_seed,
    }
    return {"metric": _metric(key), "direction": "maximize" if maximize else "minimize",
            "seeds": seeds, "arms": arms, "floors": floors}  # fmt: skip


def _metric(key: str) -> str:
    return "hits@20" if key == "link_prediction" else "shd"


def print_table(key: str, result: dict[str, Any]) -> None:
    """Per-seed rows and the median row of every arm, then the floors."""
    print(f"\n{key} ({result['metric']}, {result['direction']}), seeds {result['seeds']}")
    head = (
        f"{'arm':<14}{'seed':>5}{'compute s':>11}{'epochs':>8}{'best':>9}{'to best s':>11}"
        f"{'to none-best s':>16}{'wasted s':>10}{'unhealthy':>10}  pruned by"
    )
    print(head)
    for arm, figures in result["arms"].items():
        for r in figures["per_seed"]:
            print(
                f"{arm:<14}{r['seed']:>5}{fmt(r['compute_s']):>11}{r['epochs']:>8}"
                f"{fmt(r['best'], '.4g'):>9}{fmt(r['compute_to_best_s']):>11}"
                f"{fmt(r['compute_to_none_best_s']):>16}{fmt(r['wasted_s']):>10}"
                f"{r['unhealthy_trials']:>10}  {r['pruned_by'] or '-'}"
            )
        print(
            f"{arm + ' median':<19}{fmt(figures['compute_s']):>11}"
            f"{fmt(figures['epochs'], '.0f'):>8}"
            f"{fmt(figures['best'], '.4g'):>9}{fmt(figures['compute_to_best_s']):>11}"
            f"{fmt(figures['compute_to_none_best_s']):>16}{fmt(figures['wasted_s']):>10}"
        )
    f = result["floors"]
    per_seed = ", ".join(
        f"seed {r['seed']}: {fmt(r['none_over_health_to_reach'], '.2f')}x / "
        f"{fmt(r['median_over_health_to_reach'], '.2f')}x"
        for r in f["per_seed"]
    )
    print(
        f"floors: health reaches none best within 1%: {f['reaches_none_best']}; compute to reach "
        f"it, none/health {f['none_over_health_to_reach']:.2f}x (floor 3x: "
        f"{f['meets_3x_vs_none']}), median/health {f['median_over_health_to_reach']:.2f}x "
        f"(floor 1.5x: {f['meets_1.5x_vs_median']}) [{per_seed}]"
    )
    total = f["total_compute"]
    print(
        f"total compute of the trial budget: none/health "
        f"{fmt(total['none_over_health'], '.2f')}x, median/health "
        f"{fmt(total['median_over_health'], '.2f')}x; stopping every unhealthy trial of the none "
        f"arm at once would save {fmt(total['sick_free_bound'], '.2f')}x"
    )


def main() -> None:
    """Run every (objective, arm, seed) study and print the tables (and JSON with --json)."""
    parser = parser_for(__doc__)
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    parser.add_argument("--objectives", default="link_prediction,causal_dag")
    args = parser.parse_args()
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    seeds, lp_trials, causal_trials, epochs = BUDGETS[mode]
    keys = args.objectives.split(",")
    tasks = [
        (key, arm, seed, lp_trials if key == "link_prediction" else causal_trials, epochs)
        for key in keys
        for arm in ARMS
        for seed in seeds
    ]
    tasks.sort(key=lambda t: (t[1] != "none", t[0] != "link_prediction"))  # longest first
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        runs = list(pool.map(run_arm, *zip(*tasks, strict=True)))
    wall = time.perf_counter() - start
    results: dict[str, Any] = {}
    for key in keys:
        maximize = key == "link_prediction"
        results[key] = objective_result(key, [r for r in runs if r["key"] == key], maximize)
        results[key]["trials_per_study"] = lp_trials if maximize else causal_trials
        print_table(key, results[key])
    print(f"\nmode {mode}, {len(tasks)} studies, {args.jobs} processes, wall {wall:.0f} s")
    if args.json:
        print(json_line({**results, "mode": mode, "wall_s": round(wall, 1)}))


if __name__ == "__main__":
    main()
