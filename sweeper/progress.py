"""Show a sweep's life as a user reads it: a header, one line per finished trial with `[k/N]` and
the elapsed time, and a closing line that says what happened and what to run next.

In a terminal the live board of `sweeper.live` follows the study under the trial lines;
elsewhere (a pipe, a log file, CI) and with `--quiet` the same lines are all there is.
"""

from __future__ import annotations

import re
import time
from typing import Any

import optuna
from optuna.trial import TrialState
from rich.console import Console

from sweeper.failures import SURPLUS_PREFIX
from sweeper.quick_look import nothing_to_do_line, study_command
from sweeper.report.trials import prune_rule
from sweeper.studies import FINISHED
from sweeper.trial_attrs import BASE_PRUNER_RULE, FAIL_REASON_ATTR, PRUNE_REASON_ATTR

__all__ = [
    "ProgressView",
    "closing_line",
    "describe_trial",
    "format_value",
    "header_line",
    "nothing_to_do_line",
    "stopped_line",
    "study_command",
]

_AT_EPOCH = re.compile(r"\bat epoch (\d+)")


def is_surplus(trial: optuna.trial.FrozenTrial) -> bool:
    """A trial refused at its start because others had filled the target (it never ran)."""
    return str(trial.user_attrs.get(FAIL_REASON_ATTR, "")).startswith(SURPLUS_PREFIX)


def format_value(value: float | None) -> str:
    """A metric value as a user reads it: 4 significant digits, scientific when tiny or huge."""
    if value is None:
        return "-"
    return f"{value:.4g}"


def format_elapsed(seconds: float) -> str:
    """`42s`, `3m05s` or `1h02m`: wide enough to read, short enough for every line."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def pruned_because(trial: optuna.trial.FrozenTrial) -> str:
    """`grad_explosion at epoch 3`: the rule that pruned the trial and when (the full reason,
    thresholds included, is in `sweeper status` and the report)."""
    rule = prune_rule(trial) or BASE_PRUNER_RULE
    match = _AT_EPOCH.search(str(trial.user_attrs.get(PRUNE_REASON_ATTR, "")))
    if match is not None:
        return f"{rule} at epoch {match.group(1)}"
    if trial.intermediate_values:
        return f"{rule} at epoch {max(trial.intermediate_values)}"
    return rule


def describe_trial(trial: optuna.trial.FrozenTrial, metric: str) -> str:
    """One line for a finished trial: number, state, value, why it was pruned or failed.

    A pruned trial shows why, never its value: a health-pruned trial's value is a stand-in
    that ranks it below every healthy trial, not a metric it reached.
    """
    parts = [f"trial {trial.number}", trial.state.name]
    if trial.state == TrialState.PRUNED:
        parts[-1] = f"PRUNED ({pruned_because(trial)})"
    elif trial.value is not None:
        parts.append(f"{metric}={format_value(trial.value)}")
    if trial.state == TrialState.FAIL and FAIL_REASON_ATTR in trial.user_attrs:
        parts.append(f"({trial.user_attrs[FAIL_REASON_ATTR]})")
    params = " ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
    if params:
        parts.append(params)
    return " ".join(parts)


def _short(value: Any) -> str:
    return format_value(value) if isinstance(value, float) else str(value)


def header_line(study: str, storage: str, devices: list[str], target: int, finished: int) -> str:
    """`study toy in sqlite:///sweeps.db: 2 workers (cpu), target 12 trials, 3 finished`."""
    kinds = ", ".join(dict.fromkeys(devices))
    workers = f"{len(devices)} worker{'s' if len(devices) != 1 else ''} ({kinds})"
    return f"study {study} in {storage}: {workers}, target {target} trials, {finished} finished"


def closing_line(
    trials: list[optuna.trial.FrozenTrial],
    *,
    study: str,
    target: int,
    metric: str,
    direction: str,
    elapsed: float,
    storage_flag: str = "",
) -> str:
    """`done: 12/12 finished (9 COMPLETE, 3 PRUNED, 1 FAIL) in 2m31s; best trial 7 val_mse=0.03;
    next: sweeper report --study toy`."""
    counts = {
        state: sum(t.state == state and not is_surplus(t) for t in trials) for state in TrialState
    }
    finished = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
    tally = ", ".join(
        f"{counts[s]} {s.name}" for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    )
    best = best_of(trials, direction)
    best_text = (
        "no trial completed"
        if best is None
        else f"best trial {best.number} {metric}={format_value(best.value)}"
    )
    ahead = study_command("report", study, storage_flag)
    return (
        f"done: {finished}/{target} finished ({tally}) in {format_elapsed(elapsed)}; "
        f"{best_text}; next: {ahead}"
    )


def best_of(
    trials: list[optuna.trial.FrozenTrial], direction: str
) -> optuna.trial.FrozenTrial | None:
    """The best COMPLETE trial of a single-objective study (None before one completes)."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    if not complete:
        return None
    pick = max if direction == "maximize" else min
    return pick(complete, key=_value)


def _value(trial: optuna.trial.FrozenTrial) -> float:
    """A COMPLETE trial's value (`best_of` keeps only trials that have one)."""
    assert trial.value is not None
    return trial.value


def stopped_line(finished: int, target: int, study: str, storage_flag: str = "") -> str:
    """What Ctrl-C / SIGTERM left: `stopped: 4/12 finished; continue with sweeper resume ...`."""
    return (
        f"stopped: {finished}/{target} finished; continue with "
        f"{study_command('resume', study, storage_flag)}"
    )


class ProgressView:
    """Follows a study while workers run, one plain line per finished trial; call `update()` with
    the study's trials. (In a terminal, `sweeper.live.view.LiveView` adds a live board.)

    Trials already finished when the view opens are counted, not printed again.
    """

    def __init__(
        self,
        *,
        target: int,
        metric: str,
        direction: str,
        console: Console,
        already: list[optuna.trial.FrozenTrial] | None = None,
    ) -> None:
        self.target = target
        self.metric = metric
        self.direction = direction
        self.console = console
        self.started = time.monotonic()
        done = [t for t in already or [] if t.state in (*FINISHED, TrialState.FAIL)]
        done = [t for t in done if not is_surplus(t)]
        self.seen: set[int] = {t.number for t in done}
        self.finished = sum(t.state in FINISHED for t in done)

    @property
    def elapsed(self) -> float:
        """Seconds since the view opened."""
        return time.monotonic() - self.started

    def __enter__(self) -> ProgressView:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, trials: list[optuna.trial.FrozenTrial]) -> None:
        """Print newly finished trials: `[k/N] 42s trial ...`."""
        done = [t for t in trials if t.state in (*FINISHED, TrialState.FAIL) and not is_surplus(t)]
        for trial in sorted(done, key=lambda t: t.number):
            if trial.number in self.seen:
                continue
            self.seen.add(trial.number)
            self.finished += trial.state in FINISHED
            line = (
                f"[{self.finished}/{self.target}] {format_elapsed(self.elapsed)} "
                f"{describe_trial(trial, self.metric)}"
            )
            self.print(line)

    def print(self, line: str) -> None:
        """One plain line."""
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)
