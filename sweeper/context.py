"""The context an objective receives (the `sweeper.api.TrialContext` objectives are written
against): its device, its health monitor, and `report()`.

An objective is called as `objective(trial, params, ctx)` and returns the final metric. Inside its
training loop it feeds `ctx.monitor` (gradients, loss components, embeddings, learned graph) and
calls `ctx.report(epoch, value)` after each evaluation; `report` records the epoch's health
signals, reports the value to Optuna and raises `optuna.TrialPruned` with the reason when the
pruner (a health rule or the base pruner) says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import optuna

from sweeper.health.sync import HealthSync
from sweeper.trial_reporting import VALUE_SIGNAL, prune_trial, report_epoch

if TYPE_CHECKING:
    from sweeper.health.monitor import HealthMonitor


class TrialContext:
    """Everything a training loop needs from the sweep besides the trial and its parameters."""

    def __init__(
        self,
        trial: optuna.Trial,
        *,
        device: str = "cpu",
        metric: str = "value",
        direction: str = "maximize",
        monitor: HealthMonitor | None = None,
        health_sync_s: float = 0.0,
    ) -> None:
        self.trial = trial
        self.device = device
        self.metric = metric
        self.direction = direction
        if monitor is None:
            from sweeper.health.monitor import HealthMonitor  # torch: only where trials run

            monitor = HealthMonitor()
        self.monitor = monitor
        self.health_sync = HealthSync(health_sync_s, skip=(VALUE_SIGNAL,))
        #: The first shadow-mode verdict's message (`pruner.health.mode: shadow`), else None.
        self.would_prune: str | None = None
        #: Whether the trial carries `health_judged_live` yet (`trial_reporting.report_epoch`).
        self.judged_live_marked = False

    def set_attr(self, key: str, value: Any) -> None:
        """Store a user attribute on the trial (shown by `sweeper status` and the dashboard)."""
        self.trial.set_user_attr(key, value)

    def report(self, epoch: int, value: float) -> None:
        """Record this epoch's health, report `value` to Optuna, and prune when told to."""
        report_epoch(self, epoch, value)

    def prune(self, epoch: int, reason: str) -> NoReturn:
        """Prune the trial at `epoch` for `reason` (`rule: detail`), as a health rule prunes."""
        prune_trial(self, epoch, reason)

    def flush_health(self) -> None:
        """Write health values not yet in the storage (workers throttle writes; call at the end)."""
        self.health_sync.flush(self.trial, self.monitor.series)

    def check_health(self, epoch: int) -> None:
        """Record this epoch's health without a metric value; prunes when a health rule fires."""
        report_epoch(self, epoch, None)
