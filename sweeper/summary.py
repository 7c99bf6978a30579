"""What `sweeper status`, `list` and `best` report about a study, as plain JSON-safe data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import optuna

from sweeper.failures import stopped_of
from sweeper.report.savings import shadow_summary
from sweeper.studies import best_trial, count_states, json_safe, prune_reasons, target_of
from sweeper.trial_attrs import RESUMED_FROM_ATTR, SERIES_ATTR


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # Optuna stores local naive times
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def trial_summary(trial: optuna.trial.FrozenTrial, *, series: bool = False) -> dict[str, Any]:
    """One trial as `status --json` prints it (a queued trial shows the parameters it will run).

    The per-epoch series (the reported values and the health history, most of a study's bytes)
    come only with `series=True`; the summary keeps how many epochs were reported.
    """
    summary = {
        "number": trial.number,
        "state": trial.state.name,
        "value": json_safe(trial.value),
        "params": trial.params or dict(trial.system_attrs.get("fixed_params", {})),
        "user_attrs": {
            k: json_safe(v) for k, v in trial.user_attrs.items() if series or k != SERIES_ATTR
        },
        "epochs": len(trial.intermediate_values),
        "resumed_from": trial.user_attrs.get(RESUMED_FROM_ATTR),
        "datetime_start": _iso(trial.datetime_start),
        "datetime_complete": _iso(trial.datetime_complete),
    }
    if series:
        summary["intermediate_values"] = {
            str(k): json_safe(v) for k, v in trial.intermediate_values.items()
        }
    return summary


def best_summary(study: optuna.Study) -> dict[str, Any] | None:
    """The best COMPLETE trial's number, value and parameters (None before one completes)."""
    best = best_trial(study)
    if best is None:
        return None
    return {"number": best.number, "value": json_safe(best.value), "params": best.params}


def study_status(study: optuna.Study, *, series: bool = False) -> dict[str, Any]:
    """Everything `status NAME --json` prints (`--series` adds each trial's per-epoch series)."""
    trials = study.get_trials(deepcopy=False)
    return {
        "study": study.study_name,
        "direction": study.direction.name.lower(),
        "target": target_of(study),
        "stopped": stopped_of(study),
        "counts": count_states(trials),
        "best": best_summary(study),
        "prune_reasons": prune_reasons(trials),
        "would_prune": _shadow(trials),
        "trials": [trial_summary(t, series=series) for t in trials],
    }


def _shadow(trials: list[optuna.trial.FrozenTrial]) -> dict[str, Any] | None:
    """What shadow-mode health rules would have pruned (None when no trial was flagged)."""
    summary = shadow_summary(trials)
    return None if summary is None else summary.as_dict()


def studies_overview(storage: optuna.storages.BaseStorage) -> list[dict[str, Any]]:
    """Every study in the storage: counts, target, best value and why it stopped, if it did."""
    rows: list[dict[str, Any]] = []
    for name in sorted(optuna.get_all_study_names(storage)):
        study = optuna.load_study(study_name=name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        best = best_summary(study) if len(study.directions) == 1 else None
        rows.append(
            {
                "study": name,
                "target": target_of(study),
                "counts": count_states(trials),
                "best_value": None if best is None else best["value"],
                "stopped": stopped_of(study),
            }
        )
    return rows
