"""Causal-discovery quality: a TPE sweep of `objective: causal_dag` on each example study file.

Runs examples/causal-synthetic.yaml (ER2, d=20, n=1000, linear Gaussian) and
examples/causal-sachs.yaml (853 observational rows, 17-edge consensus graph), each in an
in-memory Optuna study with the file's sampler, pruner and health rules, the two sweeps in
parallel processes. Prints a table, then (with --json) one JSON object as the last line:
{"synthetic_er2_d20": {"best_shd": n, ...}, "sachs": {"best_shd": n, ...}}.

    python benchmarks/causal_quality.py --json            # 30 trials each
    python benchmarks/causal_quality.py --quick --json    # first 20 trials of each, < 10 min
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SWEEPS = {
    "synthetic_er2_d20": (ROOT / "examples" / "causal-synthetic.yaml", 3.0),
    "sachs": (ROOT / "examples" / "causal-sachs.yaml", 15.0),
}
QUICK_TRIALS = 20


def run_sweep(path: str, n_trials: int) -> dict[str, Any]:
    """Run one study file's sweep in memory and summarise its trials."""
    sys.path.insert(0, str(ROOT))
    import optuna
    import torch

    from sweeper.config import load_config
    from sweeper.context import TrialContext
    from sweeper.objective_registry import resolve_objective
    from sweeper.pruners.factory import build_pruner
    from sweeper.samplers import build_sampler
    from sweeper.search_space import suggest_params

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = load_config(path)
    objective = resolve_objective(config.objective)
    study = optuna.create_study(
        direction=config.direction,
        sampler=build_sampler(config),
        pruner=build_pruner(config.pruner),
    )
    seconds: list[float] = []

    def run_trial(trial: optuna.Trial) -> float:
        start = time.perf_counter()
        try:
            params = suggest_params(trial, config)
            ctx = TrialContext(
                trial, device="cpu", metric=config.metric, direction=config.direction
            )
            return objective(trial, params, ctx)
        finally:
            seconds.append(time.perf_counter() - start)

    study.optimize(run_trial, n_trials=n_trials)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    reasons = Counter(
        str(t.user_attrs.get("prune_reason", "?")).split(":")[0]
        for t in study.trials
        if t.state == optuna.trial.TrialState.PRUNED
    )
    summary: dict[str, Any] = {
        "study_file": str(Path(path).relative_to(ROOT)),
        "n_trials": len(study.trials),
        "completed": len(done),
        "pruned": dict(reasons),
        "seconds_per_trial_mean": round(sum(seconds) / len(seconds), 2),
        "seconds_per_trial_max": round(max(seconds), 2),
        "best_shd": None,
    }
    if done:
        best = min(done, key=lambda t: t.user_attrs["shd"])
        attrs = best.user_attrs
        summary.update(
            {
                "best_shd": int(attrs["shd"]),
                "best_trial": best.number,
                "f1": round(attrs["f1"], 3),
                "tpr": round(attrs["tpr"], 3),
                "fdr": round(attrs["fdr"], 3),
                "predicted_edges": attrs["predicted_edges"],
                "oracle_f1": round(attrs["oracle_f1"], 3),
                "is_dag": attrs["is_dag"],
                "params": {k: v for k, v in best.params.items()},
                "median_shd_completed": float(
                    sorted(t.user_attrs["shd"] for t in done)[len(done) // 2]
                ),
            }
        )
    return summary


def main() -> None:
    """Run both sweeps and print the table (and the JSON object with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_TRIALS} trials per sweep")
    args = parser.parse_args()

    start = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    with ProcessPoolExecutor(max_workers=len(SWEEPS)) as pool:
        futures = {}
        for name, (path, _) in SWEEPS.items():
            n_trials = QUICK_TRIALS if args.quick else _n_trials(path)
            futures[name] = pool.submit(run_sweep, str(path), n_trials)
        for name, future in futures.items():
            results[name] = future.result()
    for name, (_, floor) in SWEEPS.items():
        best = results[name]["best_shd"]
        results[name]["floor_shd"] = floor
        results[name]["meets_floor"] = best is not None and best <= floor
    wall = time.perf_counter() - start

    print(
        f"{'sweep':<20}{'trials':>7}{'done':>6}{'best SHD':>10}{'floor':>7}{'F1':>7}"
        f"{'edges':>7}{'oracle F1':>11}{'s/trial':>9}"
    )
    for name, r in results.items():
        print(
            f"{name:<20}{r['n_trials']:>7}{r['completed']:>6}{str(r['best_shd']):>10}"
            f"{r['floor_shd']:>7.0f}{r.get('f1', float('nan')):>7.3f}"
            f"{str(r.get('predicted_edges')):>7}{r.get('oracle_f1', float('nan')):>11.3f}"
            f"{r['seconds_per_trial_mean']:>9.2f}"
        )
        print(f"  pruned: {r['pruned'] or 'none'}; best params: {r.get('params')}")
    print(f"wall seconds: {wall:.0f}")
    if args.json:
        print(json.dumps({**results, "wall_seconds": round(wall, 1)}))


def _n_trials(path: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from sweeper.config import load_config

    return load_config(path).n_trials


if __name__ == "__main__":
    main()
