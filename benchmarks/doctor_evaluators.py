"""Which importance evaluator finds the parameters a sick label depends on? The one
`sweeper doctor` uses (a depth-2 scikit-learn decision tree, `sweeper.doctor.regions`) against
Optuna's PED-ANOVA and fANOVA evaluating the same 0/1 target ("this trial was sick") on an
in-memory study, on planted studies: 20 random trials over the lp_wide space's 10 parameters
(`pruning_spaces.py`), sick where a planted rule says:

- single: lr > 0.05;
- pair: lr > 0.01 and norm = none.

Per plant and evaluator: in how many of the seeds with at least 2 sick trials the planted
parameters are exactly the top-ranked ones, and the seconds per evaluation. For the tree also:
how often its region is exactly the planted conditions' parameters.

    python benchmarks/doctor_evaluators.py --json            # 30 seeds
    python benchmarks/doctor_evaluators.py --smoke --json    # 3 seeds
"""

from __future__ import annotations

import random
import time
from typing import Any

from _common import json_line, parser_for

PLANTS = {
    "single": ({"lr"}, lambda p: p["lr"] > 0.05),
    "pair": ({"lr", "norm"}, lambda p: p["lr"] > 0.01 and p["norm"] == "none"),
}


def _sample(space: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    import math

    from sweeper.config import CategoricalParam, FloatParam

    params: dict[str, Any] = {}
    for name, spec in space.items():
        if isinstance(spec, CategoricalParam):
            params[name] = rng.choice(spec.choices)
        elif isinstance(spec, FloatParam) and spec.log:
            params[name] = math.exp(rng.uniform(math.log(spec.low), math.log(spec.high)))
        elif isinstance(spec, FloatParam):
            params[name] = rng.uniform(spec.low, spec.high)
        else:
            params[name] = rng.randint(spec.low, spec.high)
    return params


def _optuna_ranking(space: dict[str, Any], outcomes: list[Any], evaluator: Any) -> list[str]:
    import optuna

    from sweeper.doctor.value_importance import distribution_of

    distributions = {name: distribution_of(spec) for name, spec in space.items()}
    study = optuna.create_study(direction="maximize")
    for o in outcomes:
        study.add_trial(
            optuna.trial.create_trial(
                params=o.params, distributions=distributions, value=float(o.sick)
            )
        )
    found = optuna.importance.get_param_importances(study, evaluator=evaluator)
    return list(found)


def main() -> None:
    """Run every plant with every evaluator; print the hit rates and the JSON line."""
    parser = parser_for(__doc__)
    parser.add_argument("--seeds", type=int, default=30)
    args = parser.parse_args()
    import optuna
    from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator
    from pruning_spaces import LP_WIDE_SPACE

    from sweeper.config import parse_config
    from sweeper.doctor.outcomes import Outcome
    from sweeper.doctor.regions import find_label

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    space = parse_config(
        {
            "study": "x",
            "objective": "x",
            "direction": "maximize",
            "metric": "m",
            "n_trials": 1,
            "space": LP_WIDE_SPACE,
        }
    ).space
    seeds = 3 if args.smoke else args.seeds
    result: dict[str, Any] = {}
    for plant, (wanted, rule) in PLANTS.items():
        tally = {"tree": [0, 0.0], "ped_anova": [0, 0.0], "fanova": [0, 0.0]}
        regions_right = runs = 0
        for seed in range(seeds):
            rng = random.Random(seed)
            trials = [_sample(space, rng) for _ in range(20)]
            outcomes = [
                Outcome(i, p, None, "sick" if rule(p) else None) for i, p in enumerate(trials)
            ]
            sick = sum(o.sick for o in outcomes)
            if sick < 2:
                continue
            runs += 1
            start = time.perf_counter()
            finding = find_label("sick", space, outcomes)
            tally["tree"][1] += time.perf_counter() - start
            tally["tree"][0] += set(list(finding.importances)[: len(wanted)]) == wanted
            regions_right += any({c.param for c in r.conditions} == wanted for r in finding.regions)
            evaluators = {
                "ped_anova": PedAnovaImportanceEvaluator(
                    target_quantile=sick / len(outcomes), region_quantile=1.0
                ),
                "fanova": FanovaImportanceEvaluator(seed=0),
            }
            for name, evaluator in evaluators.items():
                start = time.perf_counter()
                ranking = _optuna_ranking(space, outcomes, evaluator)
                tally[name][1] += time.perf_counter() - start
                tally[name][0] += set(ranking[: len(wanted)]) == wanted
        result[plant] = {
            "seeds_with_2_sick": runs,
            **{
                name: {"top_right": hits, "s_per_eval": round(sec / max(runs, 1), 3)}
                for name, (hits, sec) in tally.items()
            },
            "tree_region_right": regions_right,
        }
        print(f"{plant}: {runs} seeds with >= 2 sick trials")
        for name, (hits, sec) in tally.items():
            print(
                f"  {name:10s} planted parameters ranked top: {hits}/{runs}, "
                f"{sec / max(runs, 1):.3f} s per evaluation"
            )
        print(f"  tree region on exactly the planted parameters: {regions_right}/{runs}")
    if args.json:
        print(json_line(result))


if __name__ == "__main__":
    main()
