"""A live board that follows a study from its storage: in the foreground for `sweeper status
--watch`, or on a thread beside a `sweeper worker`'s trials. It reads what every worker stores,
so it shows the whole study, not one worker's part of it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import optuna
from rich.console import Console
from rich.live import Live

from sweeper.config import StudyConfig
from sweeper.live.board import board
from sweeper.live.snapshot import StudySnapshot, snapshot
from sweeper.progress import ProgressView
from sweeper.studies import finished_count, target_of

__all__ = ["BoardThread", "study_snapshot", "watch"]


def study_snapshot(study: optuna.Study, config: StudyConfig, elapsed_s: float) -> StudySnapshot:
    """The stored study now, with its target, metric and health rules from its config."""
    return snapshot(
        study.get_trials(deepcopy=False),
        study=study.study_name,
        metric=config.metric,
        direction=config.direction,
        target=target_of(study),
        health=config.pruner.health,
        elapsed_s=elapsed_s,
    )


def _study_elapsed(study: optuna.Study) -> float:
    """Seconds since the study's first trial started (what `status --watch` calls elapsed)."""
    starts = [t.datetime_start for t in study.get_trials(deepcopy=False) if t.datetime_start]
    if not starts:
        return 0.0
    return max(0.0, time.time() - min(starts).timestamp())


def watch(
    study: optuna.Study,
    config: StudyConfig,
    console: Console,
    *,
    interval: float,
    until: Callable[[], bool] = lambda: False,
) -> None:
    """Follow the study until it reaches its target (or `until()`): the live board in a terminal,
    one line per newly finished trial elsewhere. Ctrl-C ends it (KeyboardInterrupt)."""
    trials = study.get_trials(deepcopy=False)
    lines = ProgressView(
        target=target_of(study),
        metric=config.metric,
        direction=config.direction,
        console=console,
        already=trials,
    )
    if not console.is_terminal:
        while not _reached(study) and not until():
            time.sleep(interval)
            lines.update(study.get_trials(deepcopy=False))
        return
    offset = _study_elapsed(study)
    with Live(console=console, refresh_per_second=2, transient=False) as live:
        lines.print = lambda line: live.console.print(  # type: ignore[method-assign]
            line, markup=False, highlight=False, soft_wrap=True
        )
        while True:
            lines.update(study.get_trials(deepcopy=False))
            live.update(board(study_snapshot(study, config, offset + lines.elapsed)), refresh=True)
            if _reached(study) or until():
                return
            time.sleep(interval)


def _reached(study: optuna.Study) -> bool:
    return finished_count(study) >= target_of(study)


class BoardThread:
    """Redraws a live board of the study every `interval` seconds on a thread of its own, with
    its own storage handle (a worker's trial keeps the main thread's)."""

    def __init__(self, storage_url: str, study_name: str, console: Console, interval: float = 2.0):
        self.storage_url = storage_url
        self.study_name = study_name
        self.console = console
        self.interval = interval
        self.live = Live(console=console, refresh_per_second=2, transient=True)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweeper-board", daemon=True)
        self.started = time.monotonic()

    def __enter__(self) -> BoardThread:
        self.live.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)
        self.live.stop()

    def print(self, line: str) -> None:
        """A line above the board."""
        self.live.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def _run(self) -> None:
        from storage.engine import open_storage
        from sweeper.studies import load_study

        try:
            study, config = load_study(open_storage(self.storage_url), self.study_name)
        except Exception:  # the worker reports storage trouble itself; the board just stays away
            return
        while not self._stop.is_set():
            try:
                elapsed = time.monotonic() - self.started
                self.live.update(board(study_snapshot(study, config, elapsed)), refresh=True)
            except Exception:  # a storage blip: the next round redraws
                pass
            self._stop.wait(self.interval)
