"""One arm's study for one space and sampler seed, run in-process, one trial after another.

Every arm of a seed shares the space, `TPESampler(seed=s)` and the trial budget; only the pruner
differs. Per trial the record keeps its CPU-seconds inside the objective (one torch thread), its
epochs, its outcome, whether it ended *sick* (a default health rule fires at some epoch of its
recorded series, replayed offline exactly as the HealthPruner sees it live: the same label for
every arm) and, in the `none` arm, the shadow-mode verdict (`would_prune`).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any

HEALTH_SYNC_S = 2.0  # as workers run trials

#: arm -> (base pruner, health section or None). `none` runs the rules in shadow mode.
ARMS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "none": ("none", {"mode": "shadow"}),
    "median": ("median", None),
    "asha": ("asha", None),
    "health": ("none", {}),
    "health_median": ("median", {}),
    "health_asha": ("asha", {}),
    "health_infeasible": ("none", {"sampler_feedback": "infeasible"}),
}


@dataclass
class TrialRecord:
    """One trial of one arm: its outcome, what it cost, and whether it ended sick."""

    number: int
    state: str
    value: float | None
    compute_s: float
    epochs: int
    reason: str | None
    sick: str | None  # the first default health rule that fires on its series, or None
    would_prune: str | None  # the shadow verdict (arm none only)
    series: dict[str, Any]  # the health series as stored on the trial, for offline replays


def make_pruner(arm: str, config: Any) -> Any:
    """The arm's pruner: the study file's median arguments, Optuna's default ASHA, the rules."""
    import optuna

    from sweeper.pruners import HealthPruner

    base_name, health = ARMS[arm]
    if base_name == "median":
        base = optuna.pruners.MedianPruner(**config.pruner.args)
    elif base_name == "asha":
        base = optuna.pruners.SuccessiveHalvingPruner()
    else:
        base = optuna.pruners.NopPruner()
    return base if health is None else HealthPruner(base, health)


def relabel(run: dict[str, Any]) -> dict[str, Any]:
    """The run with every trial's `sick` label (and, in the none arm, its shadow verdict)
    recomputed by today's default rules from its stored series: for records of arms whose
    pruning does not depend on the rules (none, median, asha), saved before a rule changed."""
    from sweeper.health.series import HealthSeries

    trials = []
    for t in run["trials"]:
        verdict = first_verdict(HealthSeries.from_json(t["series"]), run["maximize"])
        sick = None if verdict is None else verdict.rule
        trials.append({**t, "sick": sick})
        if run["arm"] == "none":  # the shadow verdict is the same replay, live
            trials[-1]["would_prune"] = None if verdict is None else verdict.message
    return {**run, "trials": trials}


def first_sick(series: Any, maximize: bool) -> str | None:
    """The first default health rule that fires at any epoch of `series` (see `first_verdict`)."""
    verdict = first_verdict(series, maximize)
    return None if verdict is None else verdict.rule


def first_verdict(series: Any, maximize: bool) -> Any:
    """The first verdict of the default health rules at any epoch of `series`, replayed epoch by
    epoch with the metric values reported so far (what the HealthPruner sees live)."""
    from sweeper.health.config import HealthConfig
    from sweeper.health.rules import evaluate
    from sweeper.health.series import HealthSeries
    from sweeper.trial_reporting import VALUE_SIGNAL

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
            return verdict
    return None


def run_arm(space: str, arm: str, seed: int, n_trials: int, epochs: int | None) -> dict[str, Any]:
    """Run one arm's study for one sampler seed; the per-trial records and the wall time."""
    from _common import single_thread
    from pruning_spaces import study_config

    single_thread()
    import optuna
    import torch
    from optuna.trial import TrialState

    from sweeper.context import TrialContext
    from sweeper.objective_registry import resolve_objective
    from sweeper.search_space import suggest_params

    config = study_config(space, n_trials=n_trials, epochs=epochs)
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
                compute_s=round(compute, 4),
                epochs=len(series.epochs),
                reason=reason,
                sick=first_sick(series, maximize),
                would_prune=ctx.would_prune,
                series=series.to_json(),
            )
        )
        torch.manual_seed(0)  # nothing carries over from one trial's RNG use to the next
    return {
        "space": space,
        "arm": arm,
        "seed": seed,
        "maximize": maximize,
        "wall_s": round(time.perf_counter() - start_wall, 1),
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
