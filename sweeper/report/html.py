"""`sweeper report`: one self-contained HTML file about a study, to send to a colleague.

plotly.js is inlined once (with the first figure) and no other script or stylesheet is
referenced, so the file opens offline. Sections: the counts, the best configuration, the
prune-reason tally with the compute each rule saved, the pruning overview, Optuna's
optimization history, parameter importances and parallel coordinates, and the health curves of
the best trial and of pruned trials.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape

import optuna
import yaml
from optuna.trial import FrozenTrial, TrialState

from sweeper.config import StudyConfig
from sweeper.progress import format_value
from sweeper.report import figures
from sweeper.report.savings import DEFINITION, Savings, compute_savings, shadow_summary
from sweeper.report.trials import epochs_run, prune_rule
from sweeper.rerun import rerun_config
from sweeper.studies import best_trial, count_states
from sweeper.trial_attrs import PRUNE_REASON_ATTR, RESUMED_FROM_ATTR

PLOT_CONFIG = {"displaylogo": False, "responsive": True}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1180px; color: #222;
       padding: 0 1rem; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.meta { color: #666; }
table { border-collapse: collapse; margin: .6rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: .8rem; overflow-x: auto; }
.note { color: #555; font-style: italic; }
.figure { margin: 1rem 0; }
"""

Step = Callable[[str], None]


def _seconds(value: float) -> str:
    return f"{value:,.1f}"


def _epochs(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


class _Figures:
    """Turns plotly figures into <div>s, inlining plotly.js with the first one only."""

    def __init__(self) -> None:
        self.count = 0

    def html(self, figure: figures.Figure | None, note: str, div_id: str) -> str:
        if figure is None:
            return f'<p class="note">{escape(note)}</p>'
        self.count += 1
        body = figure.to_html(
            full_html=False,
            include_plotlyjs=self.count == 1,
            include_mathjax=False,
            config=PLOT_CONFIG,
            div_id=div_id,
        )
        return f'<div class="figure">{body}</div>'


def _counts_html(trials: list[FrozenTrial]) -> str:
    counts = count_states(trials)
    cells = "".join(f"<th>{escape(state)}</th>" for state in counts)
    values = "".join(f'<td class="n">{n}</td>' for n in counts.values())
    return f"<table><tr>{cells}</tr><tr>{values}</tr></table>"


def _best_html(study: optuna.Study, config: StudyConfig) -> str:
    best = best_trial(study)
    if best is None:
        return '<p class="note">No trial has completed yet.</p>'
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{escape(_short(value))}</td></tr>"
        for name, value in {**config.params, **best.params}.items()
    )
    rerun = yaml.safe_dump(rerun_config(config, best), sort_keys=False)
    return (
        f"<p>Trial {best.number}: <b>{escape(config.metric)} = {format_value(best.value)}</b> "
        f"({escape(config.direction)}).</p>"
        f"<table><tr><th>parameter</th><th>value</th></tr>{rows}</table>"
        "<details><summary>A study file that reruns it "
        "(<code>sweeper launch best.yaml</code>)</summary>"
        f"<pre>{escape(rerun)}</pre></details>"
    )


def _tally_html(savings: Savings) -> str:
    if not savings.rules:
        return '<p class="note">No trial was pruned.</p>'
    head = (
        "<tr><th>rule</th><th>trials</th><th>epochs run</th><th>epochs saved (est.)</th>"
        "<th>seconds spent</th><th>seconds saved (est.)</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{escape(r.rule)}</td><td class='n'>{r.trials}</td>"
        f"<td class='n'>{_epochs(r.epochs_run)}</td><td class='n'>{_epochs(r.epochs_saved)}</td>"
        f"<td class='n'>{_seconds(r.seconds_run)}</td>"
        f"<td class='n'>{_seconds(r.seconds_saved)}</td></tr>"
        for r in savings.rules
    )
    total = (
        f"<tr><th>all pruned</th><th class='n'>{savings.pruned_trials}</th>"
        f"<th class='n'>{_epochs(sum(r.epochs_run for r in savings.rules))}</th>"
        f"<th class='n'>{_epochs(savings.epochs_saved)}</th>"
        f"<th class='n'>{_seconds(savings.pruned_seconds)}</th>"
        f"<th class='n'>{_seconds(savings.seconds_saved)}</th></tr>"
    )
    full = (
        "unknown (no completed trial and no params.epochs)"
        if savings.full_epochs is None
        else _epochs(savings.full_epochs)
    )
    return (
        f"<table>{head}{rows}{total}</table>"
        f"<p>Completed trials: {savings.completed_trials}, {_epochs(savings.completed_epochs)} "
        f"epochs, {_seconds(savings.completed_seconds)} s. Full length (full_epochs): {full} "
        "epochs.</p>"
        f'<p class="note">{escape(DEFINITION)}</p>'
    )


def _short(value: object) -> str:
    """A parameter as the report shows it: floats to 4 significant digits (`0.003142`)."""
    return format_value(value) if isinstance(value, float) else str(value)


def _pruned_list_html(trials: list[FrozenTrial]) -> str:
    """Why each pruned trial was pruned, with its parameters (shown near the top)."""
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    if not pruned:
        return ""
    rows = "".join(
        f"<tr><td class='n'>{t.number}</td><td>{escape(prune_rule(t) or '')}</td>"
        f"<td class='n'>{epochs_run(t)}</td>"
        f"<td>{escape(str(t.user_attrs.get(PRUNE_REASON_ATTR, '')))}</td>"
        f"<td>{escape(', '.join(f'{k}={_short(v)}' for k, v in t.params.items()))}</td></tr>"
        for t in pruned
    )
    return (
        "<h2>Pruned trials: why</h2><table><tr><th>trial</th><th>rule</th><th>epochs run</th>"
        f"<th>prune_reason</th><th>parameters</th></tr>{rows}</table>"
    )


def resumed_list_html(trials: list[FrozenTrial]) -> str:
    """Which trials continued from a checkpoint of a killed or stopped predecessor."""
    resumed = [t for t in trials if isinstance(t.user_attrs.get(RESUMED_FROM_ATTR), dict)]
    if not resumed:
        return ""
    rows = "".join(
        f"<tr><td class='n'>{t.number}</td><td>{escape(t.state.name)}</td>"
        f"<td class='n'>{t.user_attrs[RESUMED_FROM_ATTR].get('trial')}</td>"
        f"<td class='n'>{t.user_attrs[RESUMED_FROM_ATTR].get('epoch')}</td></tr>"
        for t in resumed
    )
    return (
        "<h2>Resumed from a checkpoint</h2><p>These trials continued where a killed or stopped "
        "trial's last checkpoint left off.</p><table><tr><th>trial</th><th>state</th>"
        f"<th>resumed from trial</th><th>at epoch</th></tr>{rows}</table>"
    )


def build_report(
    study: optuna.Study,
    config: StudyConfig,
    *,
    storage_label: str,
    step: Step | None = None,
) -> str:
    """The whole report as one HTML document; `step` is told what is being computed."""
    say = step or (lambda _text: None)
    say("reading trials")
    trials = study.get_trials(deepcopy=False)
    savings = compute_savings(trials, config.params.get("epochs"))
    best = best_trial(study)
    plots = _Figures()
    sections: list[str] = []

    say("pruning overview")
    sections.append("<h2>Why trials were pruned, and what it saved</h2>")
    sections.append(_tally_html(savings))
    shadow = shadow_summary(trials)
    if shadow is not None:
        sections.append(f'<p class="shadow">Shadow mode: {escape(shadow.sentence())}.</p>')
    if savings.rules or savings.completed_trials:
        pruning = figures.pruning_figure(trials, savings)
        sections.append(plots.html(pruning, "", "fig-pruning"))

    say("best configuration")
    sections.insert(0, "<h2>Best configuration</h2>" + _best_html(study, config))
    sections.insert(1, _pruned_list_html(trials))
    sections.insert(2, resumed_list_html(trials))

    say("optimization history")
    sections.append("<h2>Optimization history</h2>")
    sections.append(plots.html(*figures.history_figure(study), "fig-history"))

    say("parameter importances")
    sections.append("<h2>Parameter importances</h2>")
    sections.append(plots.html(*figures.importance_figure(study), "fig-importances"))

    say("parallel coordinates")
    sections.append("<h2>Parallel coordinates</h2>")
    sections.append(plots.html(*figures.parallel_figure(study), "fig-parallel"))

    say("health curves")
    sections.append("<h2>Health curves: the best trial and pruned trials</h2>")
    chosen = figures.curve_trials(study)
    health, note = figures.health_figure(chosen, None if best is None else best.number)
    sections.append(plots.html(health, note, "fig-health"))

    generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    header = (
        f"<h1>Study {escape(study.study_name)}</h1>"
        f'<p class="meta">objective {escape(config.objective)} · {escape(config.metric)} '
        f"({escape(config.direction)}) · storage {escape(storage_label)} · "
        f"generated {escape(generated)} by gnn-sweeper</p>" + _counts_html(trials)
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>gnn-sweeper report: {escape(study.study_name)}</title>"
        f"<style>{STYLE}</style></head><body>{header}{''.join(sections)}</body></html>\n"
    )
