"""Shadow mode: the health rules judge every epoch but never stop a trial.

The first rule that fires is recorded on the trial as user attributes `would_prune` (the
verdict's message) and `would_prune_epoch`; the trial trains on as if the rules were off. Read
back over a study, the attributes say how many trials the rules would have pruned and about how
many seconds that would have saved, which is how a user calibrates the rules before trusting them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sweeper.trial_attrs import WOULD_PRUNE_ATTR, WOULD_PRUNE_EPOCH_ATTR

if TYPE_CHECKING:
    import optuna

    from sweeper.health.rules import Verdict

__all__ = ["WOULD_PRUNE_ATTR", "WOULD_PRUNE_EPOCH_ATTR", "record_would_prune"]


def record_would_prune(trial: optuna.Trial, verdict: Verdict) -> None:
    """Store the first verdict of a shadow-mode trial (the caller records it once per trial)."""
    trial.set_user_attr(WOULD_PRUNE_ATTR, verdict.message)
    trial.set_user_attr(WOULD_PRUNE_EPOCH_ATTR, verdict.epoch)
