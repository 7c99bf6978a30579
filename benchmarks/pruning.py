"""What health pruning buys, on four fixed search spaces, against plain Optuna pruners and two
oracles that bound what any pruner could save.

Spaces (`pruning_spaces.py`): lp_seed and causal_seed are the two example study files as they
stand; lp_wide and causal_wide are first sweeps over the ranges a user who does not know good
values yet would search. Arms (`pruning_runs.py`): none (the rules in shadow mode: they record
what they would do and never stop a trial), median (the study file's arguments), asha (Optuna's
SuccessiveHalvingPruner), health (the rules alone), health_median, health_asha, and on the wide
spaces health_infeasible (health-pruned trials marked infeasible for TPE). The oracles are
replayed from the none arm: rule_oracle stops every trial a default rule flags at its first
epoch; outcome_oracle stops every trial that finished in the bottom quartile at its first epoch.

    python benchmarks/pruning.py --json                 # 5 seeds x 4 spaces, ~1.5 h on 2 cores
    python benchmarks/pruning.py --quick --json         # seed 0, wide spaces, 4 arms, <= 15 min
    python benchmarks/pruning.py --smoke --json         # 2 trials of 3 epochs: checks it runs
    python benchmarks/pruning.py --save runs.jsonl ...  # keep every study's records as it ends
    python benchmarks/pruning.py --load runs.jsonl      # the figures again, from saved records
"""

from __future__ import annotations

import gzip
import json
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from _common import ROOT, json_line, parser_for
from pruning_analysis import markdown, print_space, space_result
from pruning_runs import ARMS, relabel, run_arm
from pruning_spaces import SPACES, WIDE_SPACES

CORE_ARMS = ("none", "median", "asha", "health", "health_median", "health_asha")
MODES = {  # mode -> (spaces, seeds, arms, trials override, epochs override)
    "full": (tuple(SPACES), (0, 1, 2, 3, 4), (*CORE_ARMS, "health_infeasible"), None, None),
    "quick": (WIDE_SPACES, (0,), ("none", "health", "asha", "health_asha"), None, None),
    "smoke": (("lp_wide", "causal_wide"), (0,), CORE_ARMS, 2, 3),
}
PLOT = ROOT / "benchmarks" / "results" / "pruning-anytime.png"


def tasks_for(spaces: Any, seeds: Any, arms: Any, trials: int | None) -> list[tuple]:
    """Every (space, arm, seed, n_trials) study to run; health_infeasible on wide spaces only."""
    tasks = [
        (space, arm, seed, trials or SPACES[space][2])
        for space in spaces
        for seed in seeds
        for arm in arms
        if arm != "health_infeasible" or space in WIDE_SPACES
    ]
    # Seed by seed, so a run cut short still has whole seeds; within a seed the slow studies
    # first, so the two processes finish together.
    slow_first = {"lp_wide": 0, "lp_seed": 1, "causal_wide": 2, "causal_seed": 3}
    tasks.sort(key=lambda t: (t[2], slow_first[t[0]], t[1]))
    return tasks


def run_all(tasks: list[tuple], epochs: int | None, jobs: int, save: Path | None) -> list[dict]:
    """Run the studies on `jobs` processes; each finished study is appended to `save`."""
    runs = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(run_arm, *task, epochs) for task in tasks]
        for done, future in enumerate(as_completed(futures), 1):
            run = future.result()
            runs.append(run)
            print(
                f"[{done}/{len(tasks)}] {run['space']} {run['arm']} seed {run['seed']}: "
                f"{run['wall_s']:.0f} s",
                flush=True,
            )
            if save is not None:
                with save.open("a") as out:
                    out.write(json.dumps(run) + "\n")
    return runs


def load_runs(paths: list[str]) -> list[dict]:
    """Saved study records (JSON lines, gzipped when the name ends in .gz); a study saved twice
    keeps its last record."""
    latest: dict[tuple, dict] = {}
    for path in paths:
        raw = Path(path).read_bytes()
        text = gzip.decompress(raw).decode() if path.endswith(".gz") else raw.decode()
        for line in text.splitlines():
            if line.strip():
                run = json.loads(line)
                latest[(run["space"], run["arm"], run["seed"])] = run
    return list(latest.values())


def main() -> None:
    """Run (or load) the studies, print one table per space, the PNG, and the JSON line."""
    parser = parser_for(__doc__)
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    parser.add_argument("--spaces", help="comma-separated spaces (default: the mode's)")
    parser.add_argument("--seeds", help="comma-separated sampler seeds (default: the mode's)")
    parser.add_argument("--arms", help="comma-separated arms (default: the mode's)")
    parser.add_argument("--trials", type=int, help="trials per study (default: the space's)")
    parser.add_argument("--save", type=Path, help="append every study's records to this file")
    parser.add_argument("--load", nargs="+", help="summarise saved records instead of running")
    parser.add_argument("--markdown", action="store_true", help="also print Markdown tables")
    parser.add_argument("--relabel", action="store_true", help="with --load: re-judge `sick`")
    parser.add_argument("--plot", type=Path, default=PLOT, help=f"anytime PNG (default {PLOT})")
    args = parser.parse_args()
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    spaces, seeds, arms, trials, epochs = MODES[mode]
    spaces = args.spaces.split(",") if args.spaces else spaces
    seeds = tuple(int(s) for s in args.seeds.split(",")) if args.seeds else seeds
    arms = args.arms.split(",") if args.arms else arms
    trials = args.trials or trials
    unknown = [a for a in arms if a not in ARMS] + [s for s in spaces if s not in SPACES]
    if unknown:
        parser.error(f"unknown arm or space: {', '.join(unknown)}")
    start = time.perf_counter()
    if args.load:
        runs = load_runs(args.load)
        if args.relabel:
            runs = [relabel(run) for run in runs]
    else:
        runs = run_all(tasks_for(spaces, seeds, arms, trials), epochs, args.jobs, args.save)
    wall = time.perf_counter() - start
    results: dict[str, Any] = {}
    for space in spaces:
        space_runs = [r for r in runs if r["space"] == space]
        if any(r["arm"] == "none" for r in space_runs):  # every figure is relative to none
            results[space] = space_result(space_runs)
            print_space(space, results[space])
            if args.markdown:
                print("\n" + markdown(space, results[space]))
    if mode != "smoke" and results:
        from pruning_plot import anytime_png

        anytime_png(results, args.plot)
        print(f"\nanytime figure: {args.plot}")
    print(f"\nmode {mode}, {len(runs)} studies, {args.jobs} processes, wall {wall:.0f} s")
    if args.json:
        print(json_line(results))


if __name__ == "__main__":
    main()
