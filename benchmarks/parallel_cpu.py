"""The ceiling of scaling.py on this machine: scaling.py's trials in plain processes, 1 then 2.

Runs the scaling study's trials (the link-prediction objective, GCN 2x64, 50 epochs, random
learning rates, no pruning) in-process on one torch thread, without the service's launcher,
workers or storage (an in-memory Optuna study): first in one process, then in two processes at
once. If two processes slow each other's trials, no worker pool can scale by 2x here; the
ceiling printed is 2 x (mean trial seconds alone) / (mean trial seconds of the pair).

    python benchmarks/parallel_cpu.py --json          # 12 trials per process, ~1 min
    python benchmarks/parallel_cpu.py --smoke --json  # 2 trials of 3 epochs
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from _common import json_line, parser_for, single_thread

TRIALS = {"full": 12, "quick": 6, "smoke": 2}


def trial_seconds(n_trials: int, epochs: int | None) -> list[float]:
    """Seconds of each of `n_trials` trials of the scaling study, the first (warm-up) dropped."""
    single_thread()
    import optuna
    from scaling import STUDY

    from sweeper.config import parse_config
    from sweeper.context import TrialContext
    from sweeper.objective_registry import resolve_objective
    from sweeper.search_space import suggest_params

    data = {**STUDY, "n_trials": n_trials}
    if epochs is not None:
        data["params"] = {**data["params"], "epochs": epochs}
    config = parse_config(data)
    objective = resolve_objective(config.objective)
    study = optuna.create_study(
        direction=config.direction,
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.NopPruner(),
    )
    seconds = []
    for _ in range(n_trials + 1):
        trial = study.ask()
        params = suggest_params(trial, config)
        ctx = TrialContext(trial, device="cpu", metric=config.metric, direction=config.direction)
        start = time.perf_counter()
        value = objective(trial, params, ctx)
        seconds.append(time.perf_counter() - start)
        study.tell(trial, value)
    return seconds[1:]


def main() -> None:
    """Print the mean trial seconds alone and in a pair, and the ceiling (JSON with --json)."""
    args = parser_for(__doc__).parse_args()
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    n_trials, epochs = TRIALS[mode], 3 if args.smoke else None
    with ProcessPoolExecutor(max_workers=1) as pool:
        alone = statistics.mean(pool.submit(trial_seconds, n_trials, epochs).result())
    with ProcessPoolExecutor(max_workers=2) as pool:
        pair = [statistics.mean(s) for s in pool.map(trial_seconds, [n_trials] * 2, [epochs] * 2)]
    ceiling = 2 * alone / statistics.mean(pair)
    print(f"scaling.py's trials, {n_trials} per process, one torch thread, no service")
    print(f"mean trial s alone {alone:.3f}; two processes at once {pair[0]:.3f} / {pair[1]:.3f}")
    print(f"ceiling of a 2-worker speed-up on this machine: {ceiling:.2f}x")
    if args.json:
        result: dict[str, Any] = {
            "mode": mode,
            "trials_per_process": n_trials,
            "alone_s": round(alone, 3),
            "pair_s": [round(s, 3) for s in pair],
            "ceiling": round(ceiling, 2),
        }
        print(json_line(result))


if __name__ == "__main__":
    main()
