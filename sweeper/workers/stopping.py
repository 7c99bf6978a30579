"""Ctrl-C and SIGTERM for a worker: take no new trial, fail the one in flight so it is retried."""

from __future__ import annotations

import signal
from types import FrameType

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

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.signum is None
        self.signum = self.signum or signum
        if first and self.in_trial:
            raise StopRequested(signum)
