"""Does `sweeper doctor`'s narrowed study file sweep healthier? On the pruning benchmark's two
first-sweep spaces (causal_wide, lp_wide: `pruning_spaces.py`), per sampler seed:

1. `sweeper launch` the space's study file (TPE with that seed, its median pruner and the
   default health rules) for N trials on a fresh SQLite file, one worker on one torch thread;
2. `sweeper doctor NAME --json -o narrowed.yaml`;
3. `sweeper launch narrowed.yaml` (same sampler seed) for N trials.

Sick = pruned by a health rule, or FAIL (what the doctor reads). Floor, per space over the
seeds: the narrowed study's sick share at most half the first's, with a best value at least as
good (per seed, and the totals).

    python benchmarks/doctor.py --json                         # 20 trials, seeds 0-2, both spaces
    python benchmarks/doctor.py --spaces causal_wide --seeds 0 # a part of it
    python benchmarks/doctor.py --smoke --json                 # 8 trials of 3 epochs, seed 0
    python benchmarks/doctor.py --save F / --load F            # keep / reread each pair's record
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import yaml
from _common import ROOT, json_line, parser_for

SPACES = ("causal_wide", "lp_wide")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SWEEPER_STORAGE"}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "sweeper", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _launch(path: Path, url: str) -> float:
    start = time.perf_counter()
    done = _cli("launch", str(path), "--storage", url, "--workers", "1")
    if done.returncode not in (0, 4):  # 4: the failure budget stopped it; the trials still count
        raise RuntimeError(f"launch {path} exited {done.returncode}: {done.stderr[-2000:]}")
    return time.perf_counter() - start


def _outcome(url: str, name: str) -> dict[str, Any]:
    """The study's ended trials, sick count and share, and best value."""
    sys.path.insert(0, str(ROOT))
    from storage.engine import open_storage
    from sweeper.doctor.outcomes import ended_outcomes
    from sweeper.studies import load_study

    study, config = load_study(open_storage(url, must_exist=True), name)
    outcomes = ended_outcomes(study.get_trials(deepcopy=False), list(config.space))
    values = [o.value for o in outcomes if o.value is not None]
    best = (max if config.direction == "maximize" else min)(values) if values else None
    sick = sum(o.sick for o in outcomes)
    labels: dict[str, int] = {}
    for o in outcomes:
        if o.label is not None:
            labels[o.label] = labels.get(o.label, 0) + 1
    return {
        "ended": len(outcomes),
        "sick": sick,
        "sick_share": sick / max(len(outcomes), 1),
        "labels": labels,
        "best": best,
    }


def run_pair(space: str, seed: int, n_trials: int, epochs: int | None) -> dict[str, Any]:
    """The first sweep, the doctor's verdict and the narrowed sweep for one space and seed."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from pruning_spaces import study_config

    config = study_config(space, n_trials=n_trials, epochs=epochs)
    data = config.stored()
    data["study"] = f"doctor-{space.replace('_', '-')}-s{seed}"
    data["sampler"] = {**data["sampler"], "seed": seed}
    work = Path(tempfile.mkdtemp(prefix=f"doctor-{space}-{seed}-"))
    url = f"sqlite:///{work / 'sweeps.db'}"
    first = work / "first.yaml"
    first.write_text(yaml.safe_dump(data, sort_keys=False))
    first_wall = _launch(first, url)
    narrowed = work / "narrowed.yaml"
    doctor = _cli("doctor", data["study"], "--storage", url, "--json", "-o", str(narrowed))
    if doctor.returncode != 0:
        raise RuntimeError(f"doctor exited {doctor.returncode}: {doctor.stderr}")
    text = _cli("doctor", data["study"], "--storage", url).stdout
    second_wall = _launch(narrowed, url)
    verdict = json.loads(doctor.stdout)
    return {
        "space": space,
        "seed": seed,
        "maximize": data["direction"] == "maximize",
        "first": {**_outcome(url, data["study"]), "wall_s": round(first_wall, 1)},
        "narrowed": {**_outcome(url, verdict["narrowed_study"]), "wall_s": round(second_wall, 1)},
        "changes": [c["param"] + ": " + c["change"] for c in verdict["changes"]],
        "doctor_text": text,
        "narrowed_yaml": narrowed.read_text(),
    }


def _better_or_equal(new: float | None, old: float | None, maximize: bool) -> bool:
    if old is None:
        return True
    if new is None:
        return False
    return new >= old if maximize else new <= old


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per space: each seed's sick shares and bests, the totals, and whether the floor holds."""
    result: dict[str, Any] = {}
    for space in SPACES:
        pairs = sorted((r for r in runs if r["space"] == space), key=lambda r: r["seed"])
        if not pairs:
            continue
        rows = []
        for r in pairs:
            a, b = r["first"], r["narrowed"]
            rows.append(
                {
                    "seed": r["seed"],
                    "sick_first": f"{a['sick']}/{a['ended']}",
                    "sick_narrowed": f"{b['sick']}/{b['ended']}",
                    "share_first": round(a["sick_share"], 3),
                    "share_narrowed": round(b["sick_share"], 3),
                    "best_first": a["best"],
                    "best_narrowed": b["best"],
                    "halved": b["sick_share"] <= a["sick_share"] / 2,
                    "best_kept": _better_or_equal(b["best"], a["best"], r["maximize"]),
                    "changes": r["changes"],
                }
            )
        first = sum(r["first"]["sick"] for r in pairs) / sum(r["first"]["ended"] for r in pairs)
        second = sum(r["narrowed"]["sick"] for r in pairs) / sum(
            r["narrowed"]["ended"] for r in pairs
        )
        result[space] = {
            "seeds": [r["seed"] for r in pairs],
            "rows": rows,
            "sick_share_first": round(first, 3),
            "sick_share_narrowed": round(second, 3),
            "floor_met_every_seed": all(row["halved"] and row["best_kept"] for row in rows),
        }
    return result


def print_summary(result: dict[str, Any]) -> None:
    """One table per space."""
    for space, part in result.items():
        print(f"\n{space} (seeds {part['seeds']})")
        print(
            "| seed | sick first | sick narrowed | best first | best narrowed | halved | "
            "best kept | changes |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for row in part["rows"]:
            print(
                f"| {row['seed']} | {row['sick_first']} | {row['sick_narrowed']} | "
                f"{row['best_first']} | {row['best_narrowed']} | {row['halved']} | "
                f"{row['best_kept']} | {'; '.join(row['changes']) or '-'} |"
            )
        print(
            f"sick share {part['sick_share_first']} -> {part['sick_share_narrowed']}; "
            f"floor met on every seed: {part['floor_met_every_seed']}"
        )


def main() -> None:
    """Run (or load) the pairs, print the tables and the JSON line."""
    parser = parser_for(__doc__)
    parser.add_argument("--spaces", default=",".join(SPACES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--save", type=Path, help="append each pair's record to this file")
    parser.add_argument("--load", nargs="+", help="summarise saved records instead of running")
    args = parser.parse_args()
    spaces = args.spaces.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    trials, epochs = (8, 3) if args.smoke else (args.trials, None)
    if args.smoke:
        seeds = [0]
    start = time.perf_counter()
    runs: list[dict[str, Any]] = []
    if args.load:
        for path in args.load:
            runs += [json.loads(line) for line in Path(path).read_text().splitlines() if line]
    else:
        tasks = [(space, seed) for seed in seeds for space in spaces]
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_pair, s, k, trials, epochs) for s, k in tasks]
            for future in as_completed(futures):
                run = future.result()
                runs.append(run)
                print(
                    f"{run['space']} seed {run['seed']}: first {run['first']['wall_s']} s, "
                    f"narrowed {run['narrowed']['wall_s']} s",
                    flush=True,
                )
                print(run["doctor_text"], flush=True)
                if args.save is not None:
                    with args.save.open("a") as out:
                        out.write(json.dumps(run) + "\n")
    result = summary(runs)
    print_summary(result)
    print(
        f"\n{len(runs)} pairs, {trials} trials per study, wall {time.perf_counter() - start:.0f} s"
    )
    if args.json:
        print(json_line(result))


if __name__ == "__main__":
    main()
