"""The plotly figures of a study: Optuna's standard plots, health curves, and the pruning overview.

Every function returns a figure, or None with a one-line reason when the study cannot support it
yet (no completed trial, too few trials for importances), so a report never fails on a young
study.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TypeAlias

import optuna
import plotly.graph_objects as go
from optuna.trial import FrozenTrial, TrialState
from plotly.subplots import make_subplots

from sweeper.health.rules import RULE_NAMES
from sweeper.report.savings import Savings
from sweeper.report.trials import (
    BASE_PRUNER_RULE,
    health_series,
    plotted_signals,
    prune_rule,
    wants_log_axis,
)

MIN_IMPORTANCE_TRIALS = 4  # completed trials below which parameter importances mean nothing
MAX_PRUNED_CURVES = 12
COMPLETED_COLOR = "#2ca02c"
BEST_COLOR = "#111111"
#: The health rules' colors, given out in the registry's order (`RULES`); a rule past the end
#: of the palette gets one of OTHER_COLORS, fixed by its name.
_RULE_PALETTE = ("#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f")
RULE_COLORS = {
    **dict(zip(RULE_NAMES, _RULE_PALETTE, strict=False)),
    BASE_PRUNER_RULE: "#1f77b4",
}
OTHER_COLORS = ("#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5")
Figure: TypeAlias = go.Figure  # plotly ships no types: Any to a type checker


def rule_color(rule: str) -> str:
    """A fixed color per pruning rule, so a rule reads the same in every figure."""
    if rule in RULE_COLORS:
        return RULE_COLORS[rule]
    return OTHER_COLORS[sum(map(ord, rule)) % len(OTHER_COLORS)]


def _completed(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def history_figure(study: optuna.Study) -> tuple[Figure | None, str]:
    """Optuna's optimization history, or None and why."""
    if not _completed(study):
        return None, "No trial has completed yet."
    return optuna.visualization.plot_optimization_history(study), ""


def importance_figure(study: optuna.Study) -> tuple[Figure | None, str]:
    """Optuna's fANOVA parameter importances, or None when too few trials completed."""
    completed = _completed(study)
    if len(completed) < MIN_IMPORTANCE_TRIALS:
        return None, (
            f"Parameter importances need at least {MIN_IMPORTANCE_TRIALS} completed trials "
            f"(this study has {len(completed)})."
        )
    try:
        return optuna.visualization.plot_param_importances(study), ""
    except (ValueError, RuntimeError) as error:
        return None, f"Parameter importances are not available: {error}"


def parallel_figure(study: optuna.Study) -> tuple[Figure | None, str]:
    """Optuna's parallel-coordinate plot of completed trials, or None and why."""
    if not _completed(study):
        return None, "No trial has completed yet."
    try:
        return optuna.visualization.plot_parallel_coordinate(study), ""
    except (ValueError, RuntimeError) as error:
        return None, f"Parallel coordinates are not available: {error}"


def curve_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The trials whose health curves a report shows: the best one, then pruned ones (health
    rules first, one of each rule before a second of any), at most MAX_PRUNED_CURVES."""
    chosen: list[FrozenTrial] = []
    try:
        chosen.append(study.best_trial)
    except ValueError:
        pass
    pruned = [t for t in study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))]
    pruned = [t for t in pruned if health_series(t).epochs]
    seen_rules: dict[str, int] = {}
    ranked = []
    for trial in pruned:
        rule = prune_rule(trial) or BASE_PRUNER_RULE
        rank = seen_rules.get(rule, 0)
        seen_rules[rule] = rank + 1
        ranked.append((rank, rule == BASE_PRUNER_RULE, trial.number, trial))
    ranked.sort(key=lambda item: item[:3])
    chosen += [item[3] for item in ranked[:MAX_PRUNED_CURVES]]
    return chosen


def _finite_or_none(values: list[float | None]) -> list[float | None]:
    return [v if v is not None and math.isfinite(v) else None for v in values]


def health_figure(trials: list[FrozenTrial], best_number: int | None) -> tuple[Figure | None, str]:
    """One panel per health signal, one line per trial (the best trial in black)."""
    series = {trial.number: health_series(trial) for trial in trials}
    signals = plotted_signals(list(series.values()))
    if not signals:
        return None, "No health signals were recorded for these trials."
    columns = min(3, len(signals))
    rows = math.ceil(len(signals) / columns)
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=signals,
        horizontal_spacing=0.08,
        vertical_spacing=min(0.12, 0.5 / rows),
    )
    width: float
    for trial in trials:
        rule = prune_rule(trial)
        if trial.number == best_number:
            name, color, width = f"trial {trial.number} (best)", BEST_COLOR, 3
        else:
            name, color, width = f"trial {trial.number} ({rule})", rule_color(rule or ""), 1.5
        for index, signal in enumerate(signals):
            data = series[trial.number]
            figure.add_trace(
                go.Scatter(
                    x=data.epochs,
                    y=_finite_or_none(data.values(signal)),
                    mode="lines+markers",
                    marker={"size": 4},
                    line={"color": color, "width": width},
                    name=name,
                    legendgroup=name,
                    showlegend=index == 0,
                    connectgaps=True,
                    hovertemplate=f"{name}<br>epoch %{{x}}<br>{signal}=%{{y:.3e}}<extra></extra>",
                ),
                row=index // columns + 1,
                col=index % columns + 1,
            )
    for index, signal in enumerate(signals):
        values = [v for data in series.values() for v in data.values(signal)]
        axis = {"type": "log"} if wants_log_axis(values) else {}
        figure.update_yaxes(
            exponentformat="e", row=index // columns + 1, col=index % columns + 1, **axis
        )
    figure.update_xaxes(title_text="epoch", row=rows)
    figure.update_layout(
        title="Health per epoch: best trial and pruned trials",
        height=max(320, 260 * rows),
        legend={"title": {"text": "click to hide a trial"}},
        margin={"t": 80},
    )
    return figure, ""


#: The compute panel's bars; the dashboard's half-width card gets the short labels.
BAR_LABELS = {
    "completed": "completed (spent)",
    "pruned": "pruned (spent)",
    "saved": "saved by pruning (est.)",
}
BAR_LABELS_NARROW = {"completed": "completed", "pruned": "pruned", "saved": "saved (est.)"}


def pruning_figure(trials: list[FrozenTrial], savings: Savings, *, narrow: bool = False) -> Figure:
    """Prune reasons over time (cumulative trials per rule) and compute spent on completed and
    pruned trials next to the compute pruning saved (an estimate), per rule. `narrow` fits
    optuna-dashboard's half-width card, which shows a custom figure 450 px high: shorter titles
    and labels, the legend (one entry per rule) above the panels."""
    titles = ("Pruned trials over time, by rule", "Compute (seconds)")
    if narrow:
        titles = ("Pruned over time", "Compute (s)")
    figure = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.55, 0.45] if narrow else [0.58, 0.42],
        subplot_titles=titles,
        horizontal_spacing=0.14 if narrow else 0.08,
    )
    second = {"row": 1, "col": 2}
    bars = BAR_LABELS_NARROW if narrow else BAR_LABELS
    pruned = sorted(
        (t for t in trials if t.state == TrialState.PRUNED and t.datetime_complete is not None),
        key=lambda t: t.datetime_complete or datetime.min,
    )
    counts: dict[str, int] = {}
    times: dict[str, list[datetime]] = {}
    cumulative: dict[str, list[int]] = {}
    numbers: dict[str, list[int]] = {}
    for trial in pruned:
        rule = prune_rule(trial) or BASE_PRUNER_RULE
        counts[rule] = counts.get(rule, 0) + 1
        times.setdefault(rule, []).append(trial.datetime_complete)  # type: ignore[arg-type]
        cumulative.setdefault(rule, []).append(counts[rule])
        numbers.setdefault(rule, []).append(trial.number)
    for tally in savings.rules:
        rule = tally.rule
        color = rule_color(rule)
        figure.add_trace(
            go.Scatter(
                x=times.get(rule, []),
                y=cumulative.get(rule, []),
                customdata=numbers.get(rule, []),
                mode="lines+markers",
                line={"shape": "hv", "color": color},
                name=rule,
                legendgroup=rule,
                hovertemplate=f"{rule}: %{{y}} pruned<br>trial %{{customdata}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
        figure.add_trace(
            go.Bar(
                x=[bars["pruned"], bars["saved"]],
                y=[tally.seconds_run, tally.seconds_saved],
                marker_color=color,
                name=rule,
                legendgroup=rule,
                showlegend=False,
                hovertemplate=f"{rule}: %{{y:.1f}} s<extra></extra>",
            ),
            **second,
        )
    figure.add_trace(
        go.Bar(
            x=[bars["completed"]],
            y=[savings.completed_seconds],
            marker_color=COMPLETED_COLOR,
            name="completed",
            hovertemplate="completed: %{y:.1f} s<extra></extra>",
        ),
        **second,
    )
    figure.update_yaxes(title_text="pruned trials (cumulative)", row=1, col=1)
    figure.update_yaxes(title_text="seconds", **second)
    figure.update_xaxes(
        categoryorder="array",
        categoryarray=[bars["completed"], bars["pruned"], bars["saved"]],
        **second,
    )
    figure.update_layout(
        barmode="stack",
        title="sweeper: why trials were pruned and what pruning saved",
        height=420,
        showlegend=True,  # even for one rule: the legend names the colours of both panels
    )
    if narrow:
        figure.update_layout(
            title={"font": {"size": 13}, "y": 0.98, "yanchor": "top"},
            height=440,
            margin={"l": 55, "r": 15, "t": 110, "b": 60},
            legend={
                "orientation": "h",
                "x": 0,
                "y": 1.13,
                "yanchor": "bottom",
                "font": {"size": 10},
            },
        )
        figure.update_yaxes(title_text=None, row=1, col=1)
    return figure
