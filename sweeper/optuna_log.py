"""The level Optuna's log should have, chosen by the CLI before Optuna is loaded.

Importing Optuna costs most of a command's start-up, so the CLI does not import it to quiet it:
it records the level here, which is applied now if Optuna is loaded, and otherwise by
`sweeper.studies` right after it imports Optuna (Optuna sets its own level on import).
"""

from __future__ import annotations

import sys

_wanted: int | None = None


def want_optuna_level(level: int) -> None:
    """Give Optuna's logger `level`, now or as soon as Optuna is loaded."""
    global _wanted
    _wanted = level
    apply_optuna_level()


def apply_optuna_level() -> None:
    """Apply the wanted level, if one was chosen and Optuna is loaded."""
    if _wanted is None or "optuna" not in sys.modules:
        return
    import optuna

    optuna.logging.set_verbosity(_wanted)
