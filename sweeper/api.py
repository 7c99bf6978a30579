"""The objective contract: what an objective may import from gnn-sweeper.

An objective is called as `objective(trial, params, ctx)` and returns the final metric; `ctx` is
a `TrialContext`. It raises `SweeperError` with one line for a problem the user can fix (a
missing dataset), and names the trial attributes it writes with the constants below. Objectives
import from this module only, so the rest of the service can change behind it (import-linter
holds `objectives/` to that, see pyproject.toml).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from sweeper.errors import SweeperError
from sweeper.trial_attrs import *  # noqa: F403  (every attribute name and parse_prune_reason)
from sweeper.trial_attrs import __all__ as _trial_attr_names

if TYPE_CHECKING:
    import optuna

    from sweeper.health.monitor import HealthMonitor

__all__ = [*_trial_attr_names, "SweeperError", "TrialContext"]


class TrialContext(Protocol):
    """What a training loop gets from the sweep besides the trial and its parameters.

    Inside its loop an objective feeds `monitor` (gradients, loss components, embeddings, the
    learned graph) and ends each epoch with `report(epoch, value)` after an evaluation, or with
    `check_health(epoch)` without one; both raise `optuna.TrialPruned` with the reason when a
    health rule (or, after a value, the study's pruner) says so. A loop that finds a reason to
    stop by itself calls `prune(epoch, reason)`, never `raise optuna.TrialPruned` directly.
    """

    trial: optuna.Trial
    device: str
    """The torch device the trial runs on (`cpu`, `cuda:0`)."""
    metric: str
    """The study's metric: the name of the value `report` takes (`hits@20`, `val_mse`)."""
    direction: str
    """`maximize` or `minimize`."""

    @property
    def monitor(self) -> HealthMonitor:
        """The health monitor the training loop feeds (built, with torch, on first use)."""

    def set_attr(self, key: str, value: Any) -> None:
        """Store a user attribute on the trial (shown by `sweeper status` and the dashboard)."""

    def report(self, epoch: int, value: float) -> None:
        """Record this epoch's health, report `value` to Optuna, and prune when told to."""

    def check_health(self, epoch: int) -> None:
        """Record this epoch's health without a metric value; prunes when a health rule fires."""

    def prune(self, epoch: int, reason: str) -> NoReturn:
        """Prune the trial at `epoch` for `reason` (`rule: detail`) as a health rule prunes: a
        stand-in value that ranks it below healthy trials, the reason stored as prune_reason."""

    def restore(self) -> Any | None:
        """The state the trial's last `checkpoint` saved, found along its retry chain on any
        machine that sees the artifact store, or None: start from epoch 1. Call it once before
        training; the reported epochs and the health series continue from there."""

    def checkpoint(self, state: Any) -> None:
        """Save `state` (anything `torch.save` takes: state dicts, the epoch, RNG states,
        counters) as the trial's checkpoint at its last reported epoch, atomically; stops the
        trial afterwards when `stop_pending`."""

    @property
    def stop_pending(self) -> bool:
        """Ctrl-C or SIGTERM arrived: checkpoint at the end of this step."""
