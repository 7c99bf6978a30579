"""The context an objective receives (the `sweeper.api.TrialContext` objectives are written
against): its device, its health monitor, and `report()`.

An objective is called as `objective(trial, params, ctx)` and returns the final metric. Inside its
training loop it feeds `ctx.monitor` (gradients, loss components, embeddings, learned graph) and
calls `ctx.report(epoch, value)` after each evaluation; `report` records the epoch's health
signals, reports the value to Optuna and raises `optuna.TrialPruned` with the reason when the
pruner (a health rule or the base pruner) says so.

A long objective also calls `ctx.restore()` once before training (the state of its last
checkpoint, or None) and `ctx.checkpoint(state)` every few epochs and whenever `ctx.stop_pending`
(`sweeper.checkpoints`): a killed, preempted or stopped trial's retry then continues from there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

import optuna

from sweeper.health.series import HealthSeries
from sweeper.health.sync import HealthSync
from sweeper.trial_reporting import VALUE_SIGNAL, prune_trial, report_epoch

if TYPE_CHECKING:
    from sweeper.checkpoints import TrialCheckpoints
    from sweeper.health.monitor import HealthMonitor


class StopControl(Protocol):
    """How a trial hears of Ctrl-C / SIGTERM (the worker's `StopSignals`)."""

    @property
    def requested(self) -> bool:
        """Whether a stop has arrived."""

    def defer(self, seconds: float) -> None:
        """Let the trial finish its step (at most `seconds`) before the stop interrupts it."""

    def take(self) -> NoReturn:
        """Stop the trial now (it fails and is re-queued)."""


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
        new_monitor: Callable[[], HealthMonitor] | None = None,
        health_sync_s: float = 0.0,
        checkpoints: Callable[[], TrialCheckpoints] | None = None,
        stop: StopControl | None = None,
        stop_grace_s: float = 30.0,
    ) -> None:
        self.trial = trial
        self.device = device
        self.metric = metric
        self.direction = direction
        # The monitor (and torch with it) is built when the objective first feeds it: an
        # objective that never touches `ctx.monitor` runs without importing torch.
        self._monitor = monitor
        self._new_monitor = new_monitor
        self._unwatched = HealthSeries()  # the series until a monitor exists
        self.health_sync = HealthSync(health_sync_s, skip=(VALUE_SIGNAL,))
        #: The first shadow-mode verdict's message (`pruner.health.mode: shadow`), else None.
        self.would_prune: str | None = None
        #: Whether the trial carries `health_judged_live` yet (`trial_reporting.report_epoch`).
        self.judged_live_marked = False
        #: Values reported to Optuna so far, by epoch (a checkpoint carries them over).
        self.reported: dict[int, float] = {}
        #: The last epoch reported or health-checked.
        self.epoch = 0
        self._open_checkpoints = checkpoints
        self._checkpoints: TrialCheckpoints | None = None
        self.stop = stop
        self.stop_grace_s = stop_grace_s
        #: Bytes of the last checkpoint written (0: none yet).
        self.checkpoint_bytes = 0

    @property
    def monitor(self) -> HealthMonitor:
        """The health monitor the training loop feeds (built, with torch, on first use)."""
        if self._monitor is None:
            if self._new_monitor is not None:
                self._monitor = self._new_monitor()
            else:
                from sweeper.health.monitor import HealthMonitor  # torch: only where trials run

                self._monitor = HealthMonitor()
            self._monitor.series = self._unwatched  # epochs reported before it was fed
        return self._monitor

    @property
    def health_series(self) -> HealthSeries:
        """The trial's health series so far (empty epochs only, if nothing was watched)."""
        return self._unwatched if self._monitor is None else self._monitor.series

    def end_health_epoch(self, epoch: int) -> None:
        """Close the monitor's epoch into the series (an unwatched epoch has no signals)."""
        if self._monitor is None:
            self._unwatched.record(epoch, {})
        else:
            self._monitor.end_epoch(epoch)

    def set_attr(self, key: str, value: Any) -> None:
        """Store a user attribute on the trial (shown by `sweeper status` and the dashboard)."""
        self.trial.set_user_attr(key, value)

    def report(self, epoch: int, value: float) -> None:
        """Record this epoch's health, report `value` to Optuna, and prune when told to."""
        self.epoch = epoch
        self.reported[epoch] = float(value)
        report_epoch(self, epoch, value)

    def prune(self, epoch: int, reason: str) -> NoReturn:
        """Prune the trial at `epoch` for `reason` (`rule: detail`), as a health rule prunes."""
        prune_trial(self, epoch, reason)

    def flush_health(self) -> None:
        """Write health values not yet in the storage (workers throttle writes; call at the end)."""
        self.health_sync.flush(self.trial, self.health_series)

    def check_health(self, epoch: int) -> None:
        """Record this epoch's health without a metric value; prunes when a health rule fires."""
        self.epoch = epoch
        report_epoch(self, epoch, None)

    @property
    def stop_pending(self) -> bool:
        """Ctrl-C or SIGTERM arrived: checkpoint now (`checkpoint` then stops the trial)."""
        return self.stop is not None and self.stop.requested

    def _store(self) -> TrialCheckpoints | None:
        """The trial's checkpoints (None outside a worker, e.g. an objective called by hand:
        then `restore` finds nothing and `checkpoint` keeps nothing)."""
        if self._checkpoints is None and self._open_checkpoints is not None:
            self._checkpoints = self._open_checkpoints()
        return self._checkpoints

    def restore(self) -> Any | None:
        """The state of the newest checkpoint of this trial's retry chain, or None (start from
        epoch 1). Restoring also carries the sweep's side over: the epochs already reported
        (so none is reported twice and the pruner sees one curve) and the health series.
        Calling it tells the worker this objective checkpoints: a stop then waits (at most
        `heartbeat.grace_period`) for the next `checkpoint` instead of interrupting the step."""
        from sweeper.checkpoints import RESUMED_FROM_ATTR

        store = self._store()
        if store is None:
            return None
        if self.stop is not None:
            self.stop.defer(self.stop_grace_s)
        found = store.latest()
        if found is None:
            return None
        stored = self.trial.storage.get_trial(self.trial._trial_id).intermediate_values
        for epoch, value in sorted(found.sweep.get("reported", {}).items()):
            if epoch not in stored:
                self.trial.report(value, epoch)
            self.reported[epoch] = value
        self.monitor.load_state_dict(found.sweep.get("monitor", {}))
        self.epoch = found.epoch
        self.set_attr(RESUMED_FROM_ATTR, {"trial": found.trial, "epoch": found.epoch})
        self.health_sync.write(self.trial, self.monitor.series, force=True)
        return found.state

    def checkpoint(self, state: Any) -> None:
        """Save `state` (anything `torch.save` takes) as this trial's checkpoint at its current
        epoch, atomically, replacing the last one; then stop the trial if a stop is pending.
        A store that cannot take it (full, read-only) fails the trial with one clear reason."""
        store = self._store()
        if store is not None:
            sweep = {"reported": dict(self.reported), "monitor": self.monitor.state_dict()}
            self.checkpoint_bytes = store.save(state, sweep, self.epoch)
        if self.stop is not None and self.stop.requested:
            self.flush_health()
            self.stop.take()

    def finish_checkpoints(self) -> None:
        """The trial ended on its own: its chain's checkpoints go (unless the study keeps them).
        An objective that never called `restore` or `checkpoint` keeps none, so its trials
        spend no storage round trip on this."""
        if self._checkpoints is None:
            return
        try:
            store = self._store()
            if store is not None:
                store.finish()
        except Exception:  # the store is unreachable: leftovers cost disk, not results
            pass
