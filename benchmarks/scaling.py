"""Trials per hour with 1 and 2 worker processes (one thread each) on the same study.

Runs `sweeper launch FILE --workers K --storage sqlite:///<fresh file>` for K = 1, then K = 2,
on the same study file: the link-prediction objective on the synthetic graph, searching only the
learning rate (every trial trains a GCN 2x64 to the end: pruner none, health rules off, so both
runs do the same work per trial), each worker on one torch thread (`--threads 1`). Two figures
per run: trials/hour over the launch command's wall time (start-up included), and over the span
from the first trial's start to the last trial's end (what the
workers sustain once running; the floor is checked on this one, since start-up is a constant
that does not scale with trials). Floor: 2 workers >= 1.8x the trials/hour of 1.

    python benchmarks/scaling.py --json            # 32 trials per run, ~3 min
    python benchmarks/scaling.py --quick --json    # 8 trials per run
    python benchmarks/scaling.py --smoke --json    # 2 toy trials per run: checks it runs
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from _common import ROOT, json_line, parser_for

FLOOR = 1.8
STUDY: dict[str, Any] = {
    "study": "bench-scaling",
    "objective": "link_prediction",
    "direction": "maximize",
    "metric": "hits@20",
    "sampler": {"name": "tpe", "seed": 0},
    "pruner": {"name": "none", "health": None},
    # Width and depth are fixed so every trial costs the same: with 2 workers TPE proposes other
    # parameters than with 1 (it sees other finished trials), and a searched width would make the
    # two runs do different work.
    "params": {
        "dataset": "synthetic",
        "epochs": 50,
        "eval_every": 10,
        "batch_size": 512,
        "hidden_channels": 64,
        "num_layers": 2,
    },
    "space": {"lr": {"type": "float", "low": 1.0e-3, "high": 1.0e-2, "log": True}},
    "heartbeat": {"interval": 5, "grace_period": 20, "max_retry": 3},
}
SMOKE_STUDY: dict[str, Any] = {
    **STUDY,
    "objective": "toy_regression",
    "direction": "minimize",
    "metric": "val_mse",
    "params": {"epochs": 3},
    "space": {"lr": {"type": "float", "low": 1.0e-3, "high": 1.0e-2, "log": True}},
}
TRIALS = {"full": 32, "quick": 8, "smoke": 2}  # 32: the last trial's tail is 1/16 of a run


def sweeper_command() -> list[str]:
    """`sweeper` from the same environment as this Python."""
    script = Path(sys.executable).with_name("sweeper")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sweeper"]


def launch(study_file: Path, workers: int, tmp: Path) -> dict[str, Any]:
    """Run one launch on a fresh SQLite file; its wall time and its trials' time span."""
    import optuna

    url = f"sqlite:///{tmp / f'scaling-{workers}.db'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # One torch thread per worker, as the issue asks: without --threads the launcher gives a lone
    # worker every core (cores // workers), so 1 worker would already use both cores.
    command = [
        *sweeper_command(),
        "launch",
        str(study_file),
        "--workers",
        str(workers),
        "--threads",
        "1",
    ]
    start = time.perf_counter()
    done = subprocess.run(
        [*command, "--storage", url], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"sweeper launch failed ({done.returncode}): {done.stderr.strip()}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=STUDY["study"], storage=url)
    trials = [t for t in study.trials if t.state.is_finished() and t.state.name != "FAIL"]
    first = min(t.datetime_start for t in trials)
    last = max(t.datetime_complete for t in trials)
    span = (last - first).total_seconds()
    return {
        "workers": workers,
        "trials": len(trials),
        "wall_s": round(wall, 1),
        "trial_span_s": round(span, 1),
        "trials_per_hour_wall": round(len(trials) / wall * 3600, 1),
        "trials_per_hour_span": round(len(trials) / span * 3600, 1),
        "command": " ".join([*command[-6:], "--storage", "sqlite:///<fresh>.db"]),
    }


def main() -> None:
    """Launch with 1 then 2 workers and print trials/hour (and the JSON line with --json)."""
    args = parser_for(__doc__).parse_args()
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    study = {**(SMOKE_STUDY if args.smoke else STUDY), "n_trials": TRIALS[mode]}
    with tempfile.TemporaryDirectory(prefix="bench_scaling_") as tmp_name:
        tmp = Path(tmp_name)
        study_file = tmp / "study.yaml"
        study_file.write_text(yaml.safe_dump(study, sort_keys=False))
        runs = {str(k): launch(study_file, k, tmp) for k in (1, 2)}
    one, two = runs["1"], runs["2"]
    speedup_wall = two["trials_per_hour_wall"] / one["trials_per_hour_wall"]
    speedup_span = two["trials_per_hour_span"] / one["trials_per_hour_span"]
    print(f"{study['objective']}, {study['n_trials']} trials per run, fresh SQLite file each")
    print(f"{'workers':>8}{'trials':>8}{'wall s':>9}{'span s':>9}{'trials/h wall':>15}"
          f"{'trials/h span':>15}")  # fmt: skip
    for run in runs.values():
        print(
            f"{run['workers']:>8}{run['trials']:>8}{run['wall_s']:>9.1f}{run['trial_span_s']:>9.1f}"
            f"{run['trials_per_hour_wall']:>15.0f}{run['trials_per_hour_span']:>15.0f}"
        )
    print(
        f"speed-up 2 vs 1 worker: {speedup_wall:.2f}x (wall), {speedup_span:.2f}x (span); "
        f"floor {FLOOR}x (span): {'met' if speedup_span >= FLOOR else 'NOT met'}"
    )
    if args.json:
        print(
            json_line(
                {
                    "mode": mode,
                    "objective": study["objective"],
                    "runs": runs,
                    "speedup_wall": round(speedup_wall, 2),
                    "speedup_span": round(speedup_span, 2),
                    "meets_1.8x": speedup_span >= FLOOR,
                    "nproc": os.cpu_count(),
                }
            )
        )


if __name__ == "__main__":
    main()
