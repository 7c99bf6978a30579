"""The sweep's view in a terminal: the finished-trial lines of `ProgressView` scroll above a
live board (rich's Live) that redraws the running trials, their nearest health limits and the
last prunes. Outside a terminal, or with `--quiet`, `ProgressView`'s plain lines are all there is.
"""

from __future__ import annotations

import optuna
from rich.console import Console
from rich.live import Live

from sweeper.health.config import HealthConfig
from sweeper.live.board import board
from sweeper.live.snapshot import snapshot
from sweeper.progress import ProgressView

__all__ = ["LiveView", "progress_view"]


class LiveView(ProgressView):
    """`ProgressView` with a live board under its lines (only ever made for a terminal)."""

    def __init__(
        self,
        *,
        study: str,
        health: HealthConfig | None,
        target: int,
        metric: str,
        direction: str,
        console: Console,
        already: list[optuna.trial.FrozenTrial] | None = None,
    ) -> None:
        super().__init__(
            target=target, metric=metric, direction=direction, console=console, already=already
        )
        self.study = study
        self.health = health
        self.display: Live | None = None

    def __enter__(self) -> LiveView:
        self.display = Live(console=self.console, refresh_per_second=2, transient=True)
        self.display.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.display is not None:
            self.display.stop()
            self.display = None

    def update(self, trials: list[optuna.trial.FrozenTrial]) -> None:
        """Print newly finished trials above the board, then redraw it."""
        super().update(trials)
        if self.display is not None:
            snap = snapshot(
                trials,
                study=self.study,
                metric=self.metric,
                direction=self.direction,
                target=self.target,
                health=self.health,
                elapsed_s=self.elapsed,
            )
            self.display.update(board(snap), refresh=True)

    def print(self, line: str) -> None:
        """A plain line above the board."""
        console = self.display.console if self.display is not None else self.console
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def progress_view(
    *,
    study: str,
    health: HealthConfig | None,
    quiet: bool,
    target: int,
    metric: str,
    direction: str,
    console: Console,
    already: list[optuna.trial.FrozenTrial] | None = None,
) -> ProgressView:
    """The live board in a terminal, plain lines elsewhere or when `quiet`."""
    if console.is_terminal and not quiet:
        return LiveView(
            study=study,
            health=health,
            target=target,
            metric=metric,
            direction=direction,
            console=console,
            already=already,
        )
    return ProgressView(
        target=target, metric=metric, direction=direction, console=console, already=already
    )
