"""What sweeper adds to optuna-dashboard's pages, written into the study for it to show.

- The study page: a figure of why trials were pruned over time and the compute spent on
  completed versus pruned trials, with what pruning saved (`save_plotly_graph_object`).
- Each trial page: a note at the top saying which rule pruned it and why, followed by the
  trial's health curves (the SVG artifact its worker uploaded). A note a user already wrote is
  left alone.

`sweeper dashboard` writes them when it starts and refreshes them every REFRESH_S seconds while
it runs, for sweeps run by any worker anywhere. Workers and the launcher do not: importing
optuna-dashboard pulls scikit-learn in through Optuna's importance module, seconds per process.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from sweeper.dashboard.artifacts import HEALTH_SUFFIX
from sweeper.studies import CONFIG_ATTR, FINISHED, load_study
from sweeper.trial_attrs import PRUNE_REASON_ATTR, RESUMED_FROM_ATTR, parse_prune_reason

log = logging.getLogger("sweeper.dashboard")
FIGURE_ID = "sweeper-pruning"  # fixed, so each save replaces the previous figure
ARTIFACT_ATTR_PREFIX = "artifacts:"  # Optuna's trial system attribute for an artifact's meta
REFRESH_S = 15.0


def save_pruning_figure(study: optuna.Study, planned_epochs: Any = None) -> str:
    """Compute the pruning overview from the study's trials and store it in the study."""
    from optuna_dashboard import save_plotly_graph_object

    from sweeper.report.figures import pruning_figure
    from sweeper.report.savings import compute_savings

    trials = study.get_trials(deepcopy=False)
    figure = pruning_figure(trials, compute_savings(trials, planned_epochs), narrow=True)
    return save_plotly_graph_object(study, figure, graph_object_id=FIGURE_ID)


def health_svg_id(trial: FrozenTrial) -> str | None:
    """The id of the trial's health-curve SVG artifact, or None when it has none."""
    for key, value in trial.system_attrs.items():
        if not key.startswith(ARTIFACT_ATTR_PREFIX):
            continue
        try:
            meta = json.loads(value)
        except (TypeError, ValueError):
            continue
        if str(meta.get("filename", "")).endswith(f"{HEALTH_SUFFIX}.svg"):
            return str(meta.get("artifact_id"))
    return None


def trial_note(study: optuna.Study, trial: FrozenTrial, svg_id: str) -> str:
    """The Markdown note optuna-dashboard shows at the top of a trial's page."""
    lines = []
    reason = trial.user_attrs.get(PRUNE_REASON_ATTR)
    if isinstance(reason, str) and reason:
        rule, detail = parse_prune_reason(reason)
        lines += [f"**Pruned by {rule}**: `{detail or rule}`", ""]
    resumed = trial.user_attrs.get(RESUMED_FROM_ATTR)
    if isinstance(resumed, dict):
        lines += [
            f"**Resumed** from trial {resumed.get('trial')}'s checkpoint at epoch "
            f"{resumed.get('epoch')} (that trial's worker was killed or stopped).",
            "",
        ]
    url = f"/artifacts/{study._study_id}/{trial._trial_id}/{svg_id}"
    lines += [
        f"Health per epoch (the table is the artifact `trial-{trial.number}{HEALTH_SUFFIX}.csv`):",
        "",
        f"![trial {trial.number} health]({url})",
    ]
    return "\n".join(lines)


def write_trial_notes(study: optuna.Study) -> int:
    """Give every finished trial with health curves a note, unless it has one; how many."""
    from optuna_dashboard._note import note_ver_key, save_note_with_version

    storage = study._storage
    existing = storage.get_study_system_attrs(study._study_id)
    written = 0
    for trial in study.get_trials(deepcopy=False, states=FINISHED):
        if note_ver_key(trial._trial_id) in existing:
            continue
        svg_id = health_svg_id(trial)
        if svg_id is None:
            continue
        body = trial_note(study, trial, svg_id)
        save_note_with_version(storage, study._study_id, trial._trial_id, 1, body)
        written += 1
    return written


def annotate(study: optuna.Study, planned_epochs: Any = None) -> bool:
    """Write the trial notes and the pruning figure, logging instead of raising (a figure never
    fails a sweep); whether it worked."""
    try:
        write_trial_notes(study)
        save_pruning_figure(study, planned_epochs)
    except Exception as error:  # the sweep's result matters more than its figure
        name = type(error).__name__
        log.warning("warning: dashboard annotations not saved (%s: %s)", name, error)
        return False
    return True


def annotate_all(storage: optuna.storages.BaseStorage, done: dict[str, int] | None = None) -> int:
    """Annotate every sweeper study whose finished-trial count changed since `done` (updated
    in place); how many studies were annotated."""
    done = {} if done is None else done
    annotated = 0
    for frozen in storage.get_all_studies():
        if CONFIG_ATTR not in frozen.user_attrs:
            continue
        study, config = load_study(storage, frozen.study_name)
        finished = len(study.get_trials(deepcopy=False, states=FINISHED))
        if finished == 0 or done.get(frozen.study_name) == finished:
            continue
        if annotate(study, config.params.get("epochs")):
            done[frozen.study_name] = finished
            annotated += 1
    return annotated


class Annotator(threading.Thread):
    """Keeps the annotations of a live sweep current while the dashboard runs."""

    def __init__(self, storage: optuna.storages.BaseStorage, interval: float = REFRESH_S) -> None:
        super().__init__(name="sweeper-annotator", daemon=True)
        self.storage = storage
        self.interval = interval
        self.done: dict[str, int] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        """Annotate every `interval` seconds until stopped."""
        while not self.stopped.wait(self.interval):
            try:
                annotate_all(self.storage, self.done)
            except Exception as error:  # keep serving; say what went wrong
                log.warning("warning: annotations not refreshed (%s)", error)
