"""The figures of `pruning.py`, from the per-trial records of every (space, arm, seed) study.

Definitions, the same for every arm:
- compute_s: CPU-seconds inside the objective, summed over the study's trials;
- best: the best COMPLETE value;
- to_none_best_s: compute until a COMPLETE trial first came within 1% of the none arm's best of
  the same seed (None: never, a miss);
- sick_compute_s: compute on trials that ended sick (a default rule fires on their series).
The oracles replay the none arm with some trials cut to their first epoch (their compute divided
by the epochs they ran): rule_oracle cuts the sick ones, outcome_oracle the bottom quartile of
the completed ones. An arm *captures* (none - arm) / (none - oracle) of an oracle's saving.
"""

from __future__ import annotations

import math
from typing import Any

from _common import fmt, median

WITHIN = 0.01  # "reaches the none arm's best within 1%"
ORACLES = ("rule_oracle", "outcome_oracle")
TOP_SHARE = 0.10  # the false-prune rate counts flagged trials among the none arm's top 10%
TOP_BEST = 3  # and no flagged trial may be among a seed's 3 best
FLOORS = {"rule_oracle": ("health", 0.9), "outcome_oracle": ("health_asha", 0.8)}
PAIRS = (("health_median", "median"), ("health_asha", "asha"))


def _better(maximize: bool) -> Any:
    return (lambda a, b: a > b) if maximize else (lambda a, b: a < b)


def reached(value: float | None, target: float | None, maximize: bool) -> bool:
    """Whether `value` is within WITHIN (relative) of `target`, or better."""
    if value is None or target is None:
        return False
    slack = WITHIN * abs(target)
    return value >= target - slack if maximize else value <= target + slack


def ranked(trials: list[dict], maximize: bool) -> list[dict]:
    """The COMPLETE trials, best first."""
    done = [t for t in trials if t["state"] == "COMPLETE" and t["value"] is not None]
    return sorted(done, key=lambda t: t["value"], reverse=maximize)


def cut_to_first_epoch(trials: list[dict], cut: set[int]) -> list[dict]:
    """The none arm's trials with those numbered in `cut` stopped after their first epoch."""
    replayed = []
    for t in trials:
        if t["number"] in cut:
            t = {
                **t,
                "state": "PRUNED",
                "value": None,
                "compute_s": t["compute_s"] / max(t["epochs"], 1),
                "epochs": 1,
            }
        replayed.append(t)
    return replayed


def oracle_trials(none: list[dict], maximize: bool) -> dict[str, list[dict]]:
    """The two oracles' trial lists, replayed from the none arm of one seed."""
    sick = {t["number"] for t in none if t["sick"]}
    done = ranked(none, maximize)
    bottom = {t["number"] for t in done[len(done) - len(done) // 4 :]} if len(done) >= 4 else set()
    return {
        "rule_oracle": cut_to_first_epoch(none, sick),
        "outcome_oracle": cut_to_first_epoch(none, bottom),
    }


def arm_figures(trials: list[dict], target: float | None, maximize: bool) -> dict[str, Any]:
    """One arm's figures for one seed, from its trial records in the order they ran."""
    better = _better(maximize)
    best, spent, to_target = None, 0.0, None
    curve = []  # (cumulative compute, best so far) after each trial: the anytime figure
    for t in trials:
        spent += t["compute_s"]
        if t["state"] == "COMPLETE" and t["value"] is not None:
            if best is None or better(t["value"], best):
                best = t["value"]
            if to_target is None and reached(t["value"], target, maximize):
                to_target = spent
        curve.append((round(spent, 2), best))
    pruned_by: dict[str, int] = {}
    for t in trials:
        if t["state"] == "PRUNED" and t.get("reason"):
            rule = t["reason"].split(":", 1)[0]
            pruned_by[rule] = pruned_by.get(rule, 0) + 1
    return {
        "compute_s": round(spent, 2),
        "best": best,
        "to_none_best_s": None if to_target is None else round(to_target, 2),
        "sick_compute_s": round(sum(t["compute_s"] for t in trials if t["sick"]), 2),
        "sick_trials": sum(bool(t["sick"]) for t in trials),
        "epochs": sum(t["epochs"] for t in trials),
        "pruned_by": pruned_by,
        "curve": curve,
    }


def captured(none: float, arm: float, oracle: float) -> float | None:
    """The share of the oracle's saving the arm got (None when the oracle saves nothing)."""
    saving = none - oracle
    return None if saving <= 1e-9 else round((none - arm) / saving, 3)


def median_counting_misses(values: list[float | None]) -> float:
    """The median where a miss (None) counts as 0, so misses cannot drop out of it."""
    return round(median([0.0 if v is None else v for v in values]) or 0.0, 3)


def space_result(runs: list[dict]) -> dict[str, Any]:
    """Every figure of one space: per-arm lists over seeds, oracle capture, floors, false prunes."""
    maximize = runs[0]["maximize"]
    by = {(r["arm"], r["seed"]): r["trials"] for r in runs}
    seeds = sorted({r["seed"] for r in runs if r["arm"] == "none"})
    run_arms = [
        a
        for a in (
            "none",
            "median",
            "asha",
            "health",
            "health_median",
            "health_asha",
            "health_infeasible",
        )
        if all((a, s) in by for s in seeds)
    ]
    per_seed: dict[str, list[dict]] = {arm: [] for arm in [*run_arms, *ORACLES]}
    for seed in seeds:
        none = by[("none", seed)]
        target = arm_figures(none, None, maximize)["best"]
        lists = {arm: by[(arm, seed)] for arm in run_arms} | oracle_trials(none, maximize)
        for arm, trials in lists.items():
            per_seed[arm].append(arm_figures(trials, target, maximize))
    keys = ("compute_s", "best", "to_none_best_s", "sick_compute_s")
    arms = {
        arm: {k: [f[k] for f in rows] for k in keys} | {"per_seed": rows}
        for arm, rows in per_seed.items()
    }
    none_c = arms["none"]["compute_s"]
    capture = {
        oracle: {
            arm: median(
                [
                    captured(n, a, o)
                    for n, a, o in zip(
                        none_c, arms[arm]["compute_s"], arms[oracle]["compute_s"], strict=True
                    )
                ]
            )
            for arm in run_arms
            if arm != "none"
        }
        for oracle in ORACLES
    }
    result = {
        "seeds": seeds,
        "maximize": maximize,
        "arms": arms,
        "rule_oracle_captured": capture["rule_oracle"],
        "outcome_oracle_captured": capture["outcome_oracle"],
        **false_prunes([by[("none", s)] for s in seeds], maximize),
    }
    if "health" in arms:  # a run of the rule-free arms alone has no health figure
        result["health_vs_none"] = health_vs_none(arms)
    result["rule_latency_ceiling"] = latency_ceiling([by[("none", s)] for s in seeds], maximize)
    result["floors"] = floors(result, run_arms)
    if "health_infeasible" in run_arms:
        result["sampler_feedback"] = sampler_feedback(by, seeds, maximize)
    return result


def false_prunes(nones: list[list[dict]], maximize: bool) -> dict[str, Any]:
    """Shadow verdicts on trials that still finished in the none arm's top 10% (pooled over
    seeds, as a share of all flagged trials), and flagged trials among each seed's 3 best."""
    flagged = false = 0
    in_top3 = []
    for trials in nones:
        done = ranked(trials, maximize)
        top = {t["number"] for t in done[: max(1, math.ceil(TOP_SHARE * len(trials)))]}
        flagged += sum(bool(t["would_prune"]) for t in trials)
        false += sum(bool(t["would_prune"]) and t["number"] in top for t in trials)
        in_top3.append(sum(bool(t["would_prune"]) for t in done[:TOP_BEST]))
    return {
        "false_prune_rate": round(false / flagged, 3) if flagged else 0.0,
        "false_prunes": {"flagged": flagged, "in_top_10pct": false, "in_top3_per_seed": in_top3},
    }


def latency_ceiling(nones: list[list[dict]], maximize: bool) -> float | None:
    """The share of the rule oracle's saving that the rules themselves can reach: each sick trial
    of the none arm stopped at the epoch its first rule fires (warm-up and patience included)
    instead of its first epoch. A health arm that captures less than this lost the rest to what
    the sampler did next; the floor of 90% is out of reach where this is below it."""
    from pruning_runs import first_verdict

    from sweeper.health.series import HealthSeries

    by_rules = by_oracle = 0.0
    for trials in nones:
        for t in trials:
            if not t["sick"] or "series" not in t or t["epochs"] < 2:
                continue
            series = HealthSeries.from_json(t["series"])
            verdict = first_verdict(series, maximize)
            if verdict is None:
                continue
            fired = series.epochs.index(verdict.epoch) + 1  # epochs trained when it fired
            by_rules += t["compute_s"] * (t["epochs"] - fired) / t["epochs"]
            by_oracle += t["compute_s"] * (t["epochs"] - 1) / t["epochs"]
    return round(by_rules / by_oracle, 3) if by_oracle else None


def health_vs_none(arms: dict[str, Any]) -> dict[str, Any]:
    """Compute to reach none's best: none's own compute to its best over health's (miss = 0)."""
    ratios = []
    for none, health in zip(arms["none"]["per_seed"], arms["health"]["per_seed"], strict=True):
        reach = health["to_none_best_s"]
        ratios.append(None if not reach else round(none["to_none_best_s"] / reach, 2))
    whole = [
        round(n / h, 2)
        for n, h in zip(arms["none"]["compute_s"], arms["health"]["compute_s"], strict=True)
        if h
    ]
    return {
        "to_reach_per_seed": ratios,
        "to_reach": median_counting_misses(ratios),
        "whole_budget_per_seed": whole,
        "whole_budget": median(whole),
    }


def floors(result: dict[str, Any], run_arms: list[str]) -> dict[str, Any]:
    """The issue's floors, each with the figure it reads and whether it is met."""
    arms, out = result["arms"], {}
    for oracle, (arm, floor) in FLOORS.items():
        if arm in run_arms:
            got = result[f"{oracle}_captured"].get(arm)
            out[f"{arm}_captures_{oracle}"] = {
                "got": got,
                "floor": floor,
                "met": got is None or got >= floor,
            }
    for health, base in PAIRS:
        if health not in run_arms or base not in run_arms:
            continue
        reach = {a: sum(v is not None for v in arms[a]["to_none_best_s"]) for a in (health, base)}
        compute = {a: median(arms[a]["compute_s"]) for a in (health, base)}
        sick = {a: median(arms[a]["sick_compute_s"]) for a in (health, base)}
        out[f"{health}_vs_{base}"] = {
            "seeds_reaching_none_best": reach,
            "median_compute_s": compute,
            "median_sick_compute_s": sick,
            "reach_met": reach[health] >= reach[base],
            "compute_met": compute[health] <= compute[base],
            "sick_half_met": sick[health] <= 0.5 * sick[base],
        }
    out["false_prune_rate_met"] = result["false_prune_rate"] <= 0.02
    out["no_flagged_in_top3_met"] = not any(result["false_prunes"]["in_top3_per_seed"])
    return out


def sampler_feedback(
    by: dict[tuple, list[dict]], seeds: list[int], maximize: bool
) -> dict[str, Any]:
    """Stand-in value (arm health) against infeasible (arm health_infeasible): the share of sick
    trials in the second half of each study, and the best value."""
    out = {}
    for arm in ("health", "health_infeasible"):
        shares, bests = [], []
        for seed in seeds:
            trials = by[(arm, seed)]
            late = trials[len(trials) // 2 :]
            shares.append(round(sum(bool(t["sick"]) for t in late) / len(late), 3))
            bests.append(arm_figures(trials, None, maximize)["best"])
        out[arm] = {"sick_share_second_half": shares, "median_share": median(shares), "best": bests}
    return out


def print_space(space: str, result: dict[str, Any]) -> None:
    """One table row per arm (medians over seeds, with per-seed values), then the floors."""
    direction = "max" if result["maximize"] else "min"
    print(f"\n== {space} ({direction}), seeds {result['seeds']}")
    print(
        f"{'arm':<18}{'compute s':>11}{'best':>9}{'to none-best s':>16}{'sick s':>9}"
        f"{'reach':>7}  per-seed compute"
    )
    for arm, fig in result["arms"].items():
        reach = sum(v is not None for v in fig["to_none_best_s"])
        print(
            f"{arm:<18}{fmt(median(fig['compute_s'])):>11}{fmt(median(fig['best']), '.4g'):>9}"
            f"{fmt(median(fig['to_none_best_s'])):>16}{fmt(median(fig['sick_compute_s'])):>9}"
            f"{reach:>4}/{len(fig['compute_s'])}  "
            f"{' '.join(fmt(c, '.0f') for c in fig['compute_s'])}"
        )
    print(
        f"rule latency ceiling: {fmt(result['rule_latency_ceiling'], '.2f')} of the rule "
        "oracle's saving (sick trials stopped when their rule fires)"
    )
    for oracle in ORACLES:
        cap = result[f"{oracle}_captured"]
        print(f"{oracle} captured: " + ", ".join(f"{a} {fmt(v, '.2f')}" for a, v in cap.items()))
    hv = result.get("health_vs_none")
    if hv is not None:
        print(
            f"health vs none, compute to reach none's best: {fmt(hv['to_reach'], '.2f')}x "
            f"(per seed {hv['to_reach_per_seed']}); whole budget {fmt(hv['whole_budget'], '.2f')}x"
        )
    fp = result["false_prunes"]
    print(
        f"false-prune rate {result['false_prune_rate']:.3f} ({fp['in_top_10pct']} of "
        f"{fp['flagged']} flagged in the top 10%; flagged in top 3 per seed "
        f"{fp['in_top3_per_seed']})"
    )
    for name, floor in result["floors"].items():
        print(f"floor {name}: {floor}")
    if "sampler_feedback" in result:
        print(f"sampler feedback: {result['sampler_feedback']}")


def markdown(space: str, result: dict[str, Any]) -> str:
    """The space's figures as the Markdown table BENCHMARKS.md shows (medians over seeds)."""
    rows = [
        f"**{space}** ({'max' if result['maximize'] else 'min'}, seeds {result['seeds']})",
        "",
        "| arm | compute s | best | to none's best s | sick s | seeds reaching none's best |",
        "|---|---|---|---|---|---|",
    ]
    for arm, fig in result["arms"].items():
        reach = sum(v is not None for v in fig["to_none_best_s"])
        rows.append(
            f"| {arm} | {fmt(median(fig['compute_s']))} | {fmt(median(fig['best']), '.4g')} | "
            f"{fmt(median(fig['to_none_best_s']))} | {fmt(median(fig['sick_compute_s']))} | "
            f"{reach}/{len(fig['compute_s'])} |"
        )
    return "\n".join(rows)
