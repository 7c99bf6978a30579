"""What reaches the terminal besides the sweep's own lines: nothing by default, everything with
`--verbose`.

By default Optuna's logger (`[W ...] Trial 540 failed with value None.`) and Python warnings
(`UserWarning: Fixed parameter lr with value 1000.0 is out of range ...`) are kept off the
terminal: the sweep prints one line per trial and one line per problem, which say the same.
`--verbose` shows Optuna's log at INFO (every trial it finishes, prunes or fails, with its
traceback), every warning, and the sweep's own INFO lines.
"""

from __future__ import annotations

import logging
import sys
import warnings

from sweeper.optuna_log import want_optuna_level

_QUIET_OPTUNA_LEVEL = logging.CRITICAL + 1


def configure(*, verbose: bool) -> None:
    """Route Optuna's log and warnings: off the terminal unless `verbose`."""
    if verbose:
        want_optuna_level(logging.INFO)
        warnings.resetwarnings()
        warnings.simplefilter("default")
        _sweeper_log(logging.INFO)
        return
    want_optuna_level(_QUIET_OPTUNA_LEVEL)  # applied when Optuna is loaded, if it is not yet
    warnings.simplefilter("ignore")
    _sweeper_log(logging.WARNING)


def _sweeper_log(level: int) -> None:
    """The sweep's own log lines (`sweeper.*` loggers) on stderr, message only."""
    logging.basicConfig(format="%(message)s", stream=sys.stderr, force=True)
    logging.getLogger().setLevel(level)
