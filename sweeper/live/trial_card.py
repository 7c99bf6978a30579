"""One trial as `sweeper trial` shows it: parameters, state, value and reason, then its health
series, one sparkline per signal and a per-epoch table, so a prune reason can be checked
against the curve without a browser.
"""

from __future__ import annotations

import math
from typing import Any

import optuna
from optuna.trial import TrialState
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from sweeper.health.rules import is_health_reason
from sweeper.health.series import HealthSeries, to_json_value
from sweeper.live.sparkline import sparkline
from sweeper.progress import format_value
from sweeper.trial_attrs import (
    DEVICE_ATTR,
    FAIL_REASON_ATTR,
    PRUNE_REASON_ATTR,
    RESUMED_FROM_ATTR,
    SERIES_ATTR,
    WORKER_ATTR,
    WOULD_PRUNE_ATTR,
    parse_prune_reason,
)

__all__ = ["card", "card_dict", "metric_values", "series_of", "table_signals"]


def metric_values(trial: optuna.trial.FrozenTrial) -> dict[int, float]:
    """The metric values the trial reached by epoch: without the stand-in a health prune
    reports at its last epoch (a value that ranks the trial low, not one it reached)."""
    values = dict(trial.intermediate_values)
    if (
        trial.state == TrialState.PRUNED
        and is_health_reason(trial.user_attrs.get(PRUNE_REASON_ATTR))
        and values
    ):
        values.pop(max(values))
    return values


def shown_value(trial: optuna.trial.FrozenTrial) -> str:
    """The trial's value as the card shows it: `-` for a pruned trial (its value is a stand-in
    or a partial one)."""
    if trial.state == TrialState.PRUNED or trial.value is None:
        return "-"
    return format_value(trial.value)


def series_of(trial: optuna.trial.FrozenTrial, metric: str) -> HealthSeries:
    """The trial's health series with its reported metric values as one more signal."""
    series = HealthSeries.from_json(trial.user_attrs.get(SERIES_ATTR))
    reached = metric_values(trial)
    if reached:
        merged = HealthSeries()
        stored = {e: i for i, e in enumerate(series.epochs)}
        for epoch in sorted(set(series.epochs) | set(reached)):
            row: dict[str, float | None] = {metric: reached.get(epoch)}
            if epoch in stored:
                row.update({n: series.values(n)[stored[epoch]] for n in series.names()})
            merged.record(epoch, row)
        return merged
    return series


def _reason(trial: optuna.trial.FrozenTrial) -> str | None:
    for key in (PRUNE_REASON_ATTR, FAIL_REASON_ATTR, WOULD_PRUNE_ATTR):
        if key in trial.user_attrs:
            label = "would prune" if key == WOULD_PRUNE_ATTR else "reason"
            return f"{label}: {trial.user_attrs[key]}"
    return None


def _duration(trial: optuna.trial.FrozenTrial) -> str:
    from sweeper.progress import format_elapsed

    if trial.datetime_start is None:
        return "-"
    if trial.datetime_complete is None:
        return "running"
    return format_elapsed((trial.datetime_complete - trial.datetime_start).total_seconds())


def _param(value: Any) -> str:
    return format_value(value) if isinstance(value, float) else str(value)


def _cell(value: float | None) -> str:
    if value is None:
        return ""
    return format_value(value) if math.isfinite(value) else str(value)


#: Columns of the per-epoch table unless `--signals` names others: the metric, then these.
TABLE_SIGNALS = ("loss", "grad_norm")
#: The per-epoch table's widest choice of columns (the sparklines show every signal).
MAX_COLUMNS = 6


def table_signals(
    trial: optuna.trial.FrozenTrial, series: HealthSeries, metric: str, wanted: list[str] | None
) -> list[str]:
    """The per-epoch table's signals: those asked for, else the metric, loss, gradient norm and
    the signal the prune reason names."""
    if wanted:
        return [name for name in wanted if series.has(name)]
    names = [metric, *TABLE_SIGNALS]
    reason = str(
        trial.user_attrs.get(PRUNE_REASON_ATTR) or trial.user_attrs.get(WOULD_PRUNE_ATTR, "")
    )
    _, detail = parse_prune_reason(reason)
    named = detail.partition("=")[0].strip()
    if named:
        names.append(named)
    return [n for n in dict.fromkeys(names) if series.has(n)][:MAX_COLUMNS]


def card(
    trial: optuna.trial.FrozenTrial,
    metric: str,
    *,
    last: int = 20,
    signals: list[str] | None = None,
) -> RenderableType:
    """The card: a header, the parameters, one sparkline per signal and the last `last` epochs
    (0: all) of the main signals (or `signals`)."""
    value = shown_value(trial)
    head = [
        f"trial {trial.number}: {trial.state.name}, {metric}={value}, "
        f"{_duration(trial)} on {trial.user_attrs.get(DEVICE_ATTR, '-')} "
        f"({trial.user_attrs.get(WORKER_ATTR, '-')})"
    ]
    reason = _reason(trial)
    if reason is not None:
        head.append(reason)
    resumed = trial.user_attrs.get(RESUMED_FROM_ATTR)
    if isinstance(resumed, dict):
        origin, epoch = resumed.get("trial"), resumed.get("epoch")
        head.append(f"resumed from trial {origin}'s checkpoint at epoch {epoch}")
    head.append("params: " + " ".join(f"{k}={_param(v)}" for k, v in trial.params.items()))
    parts: list[RenderableType] = [Text(line) for line in head]
    series = series_of(trial, metric)
    if not series.epochs:
        parts.append(Text("no health series recorded", style="dim"))
        return Group(*parts)
    curves = Table(box=None, pad_edge=False, header_style="bold", title_justify="left")
    for column in ("signal", "first", "min", "max", "last", f"epochs {series.epochs[0]}-"
                   f"{series.epochs[-1]}"):  # fmt: skip
        curves.add_column(column)
    for name in series.names():
        values = series.values(name)
        finite = [v for v in values if v is not None and math.isfinite(v)]
        present = [v for v in values if v is not None]
        curves.add_row(
            name,
            _cell(present[0] if present else None),
            _cell(min(finite) if finite else None),
            _cell(max(finite) if finite else None),
            _cell(present[-1] if present else None),
            sparkline(values, width=60),
        )
    parts.append(curves)
    epochs = Table(box=None, pad_edge=False, header_style="bold")
    names = table_signals(trial, series, metric, signals)
    epochs.add_column("epoch")
    for name in names:
        epochs.add_column(name, overflow="fold")
    shown = list(enumerate(series.epochs))
    if last > 0:
        shown = shown[-last:]
    for index, epoch in shown:
        epochs.add_row(str(epoch), *(_cell(series.values(n)[index]) for n in names))
    if last > 0 and len(series.epochs) > last:
        parts.append(Text(f"last {last} of {len(series.epochs)} epochs (--last 0 for all):"))
    parts.append(epochs)
    return Group(*parts)


def card_dict(trial: optuna.trial.FrozenTrial, metric: str) -> dict[str, Any]:
    """The same as one JSON-safe object (the series as per-signal lists)."""
    series = series_of(trial, metric)
    return {
        "number": trial.number,
        "state": trial.state.name,
        "value": None if trial.state == TrialState.PRUNED else to_json_value(trial.value),
        "params": trial.params,
        "reason": _reason(trial),
        "worker": trial.user_attrs.get(WORKER_ATTR),
        "device": trial.user_attrs.get(DEVICE_ATTR),
        "series": series.to_json(),
    }
