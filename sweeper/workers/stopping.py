"""Ctrl-C and SIGTERM for a worker: take no new trial, fail the one in flight so it is retried."""

from __future__ import annotations

import signal
from types import FrameType
from typing import NoReturn

from sweeper.exit_codes import ExitCode


class StopRequested(KeyboardInterrupt):
    """Raised inside a running trial when the worker is told to stop (Optuna marks it FAIL)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


class StopSignals:
    """Turns SIGINT/SIGTERM into a stop request; interrupts the trial in flight once."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.in_trial = False
        #: Seconds the trial in flight may take to reach its next checkpoint (0: interrupt it).
        self.defer_s = 0.0

    @property
    def requested(self) -> bool:
        """Whether a stop signal has arrived."""
        return self.signum is not None

    @property
    def exit_code(self) -> ExitCode:
        """130 for SIGINT, 143 for SIGTERM."""
        return ExitCode.for_signal(self.signum or signal.SIGTERM)

    def install(self) -> None:
        """Handle SIGINT and SIGTERM in this (main) thread."""
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def defer(self, seconds: float) -> None:
        """The trial in flight checkpoints: a stop lets it finish its step (at most `seconds`)."""
        self.defer_s = max(0.0, seconds)

    def take(self) -> NoReturn:
        """Interrupt the trial now (after its checkpoint, or when its grace ran out)."""
        signal.setitimer(signal.ITIMER_REAL, 0)
        raise StopRequested(self.signum or signal.SIGTERM)

    def end_trial(self) -> None:
        """The trial is over: no deferral or pending deadline carries into the next one."""
        self.in_trial = False
        self.defer_s = 0.0
        signal.setitimer(signal.ITIMER_REAL, 0)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.signum is None
        self.signum = self.signum or signum
        if first and self.in_trial:
            if self.defer_s > 0:  # checkpoint first: `take` stops it, or the deadline does
                signal.signal(signal.SIGALRM, self._deadline)
                signal.setitimer(signal.ITIMER_REAL, self.defer_s)
                return
            raise StopRequested(signum)

    def _deadline(self, signum: int, frame: FrameType | None) -> None:
        if self.in_trial:
            raise StopRequested(self.signum or signal.SIGTERM)
