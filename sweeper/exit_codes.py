"""The exit codes every `sweeper` command keeps, declared once (as click's exceptions carry
`exit_code`): a script can retry on STORAGE and give up on BAD_INPUT."""

from __future__ import annotations

import signal
from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """What a `sweeper` process's exit status means."""

    OK = 0
    """Done: the study reached its target, its timeout, or the command did what it was asked."""
    BUG = 1
    """A bug (an unexpected error), or worker processes that kept crashing."""
    BAD_INPUT = 2
    """Bad input: a study file, flag, URL, objective or dataset that cannot work as given."""
    STORAGE = 3
    """The storage is unreachable or cannot take writes (at start or later); retry when back."""
    FAILURE_BUDGET = 4
    """The study's failure budget is spent (`failures:` in the study file); see `sweeper status`."""
    SIGINT = 128 + signal.SIGINT
    """Stopped by Ctrl-C (130)."""
    SIGTERM = 128 + signal.SIGTERM
    """Stopped by SIGTERM (143)."""

    @classmethod
    def for_signal(cls, signum: int) -> ExitCode:
        """SIGINT or SIGTERM as its exit code (any other signal reads as SIGTERM)."""
        return cls.SIGINT if signum == signal.SIGINT else cls.SIGTERM
