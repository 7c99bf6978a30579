"""Show a sweep's progress: a rich bar in a terminal, one plain line per finished trial else."""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import TrialState
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sweeper.studies import FINISHED


def format_value(value: float | None) -> str:
    """A metric value as a user reads it: 4 significant digits, scientific when tiny or huge."""
    if value is None:
        return "-"
    return f"{value:.4g}"


def describe_trial(trial: optuna.trial.FrozenTrial, metric: str) -> str:
    """One line for a finished trial: number, state, value, why it was pruned or failed."""
    parts = [f"trial {trial.number}", trial.state.name]
    if trial.value is not None:
        parts.append(f"{metric}={format_value(trial.value)}")
    if trial.state == TrialState.PRUNED and "prune_reason" in trial.user_attrs:
        parts.append(f"({trial.user_attrs['prune_reason']})")
    if trial.state == TrialState.FAIL and "fail_reason" in trial.user_attrs:
        parts.append(f"({trial.user_attrs['fail_reason']})")
    params = " ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
    if params:
        parts.append(params)
    return " ".join(parts)


def _short(value: Any) -> str:
    return format_value(value) if isinstance(value, float) else str(value)


class ProgressView:
    """Follows a study while workers run; call `update()` with the study's trials."""

    def __init__(self, *, target: int, metric: str, direction: str, console: Console) -> None:
        self.target = target
        self.metric = metric
        self.direction = direction
        self.console = console
        self.seen: set[int] = set()
        self.live = console.is_terminal
        self.progress: Progress | None = None
        self.task_id: Any = None

    def __enter__(self) -> ProgressView:
        if self.live:
            self.progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[summary]}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self.progress.start()
            self.task_id = self.progress.add_task("trials", total=self.target, summary="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def update(self, trials: list[optuna.trial.FrozenTrial]) -> None:
        """Print newly finished trials and refresh the bar."""
        done = [t for t in trials if t.state in (*FINISHED, TrialState.FAIL)]
        for trial in sorted(done, key=lambda t: t.number):
            if trial.number in self.seen:
                continue
            self.seen.add(trial.number)
            line = describe_trial(trial, self.metric)
            if self.progress is not None:
                self.progress.console.print(line, markup=False, highlight=False)
            else:
                print(line, flush=True)
        if self.progress is not None:
            finished = sum(t.state in FINISHED for t in trials)
            pruned = sum(t.state == TrialState.PRUNED for t in trials)
            failed = sum(t.state == TrialState.FAIL for t in trials)
            values = [
                t.value for t in trials if t.state == TrialState.COMPLETE and t.value is not None
            ]
            best = (max if self.direction == "maximize" else min)(values) if values else None
            summary = f"pruned {pruned}  failed {failed}  best {self.metric}={format_value(best)}"
            self.progress.update(
                self.task_id, completed=min(finished, self.target), summary=summary
            )
