"""Write a trial's health to the storage: every epoch in tests, at most every few seconds in
workers, and always before the trial ends.

Each user attribute is a database round trip, so a worker throttles them: the pruning decision
never waits for the storage (the rules judge the in-memory series), and the dashboard sees
values at most `interval_s` seconds old.
"""

from __future__ import annotations

import time
from typing import Any

import optuna

from sweeper.health.series import HealthSeries, to_json_value
from sweeper.trial_attrs import SERIES_ATTR, SIGNAL_ATTR_PREFIX

_UNSET = object()


def latest_values(series: HealthSeries, skip: tuple[str, ...] = ()) -> dict[str, float | None]:
    """The last recorded (non-missing) value of every signal."""
    latest: dict[str, float | None] = {}
    for name in series.names():
        if name in skip:
            continue
        present = [v for v in series.values(name) if v is not None]
        if present:
            latest[name] = present[-1]
    return latest


class HealthSync:
    """Keeps `health.<signal>` (latest values) and `health_series` (history) in the storage."""

    def __init__(self, interval_s: float = 0.0, skip: tuple[str, ...] = ()) -> None:
        if interval_s < 0:
            raise ValueError(f"interval_s must be >= 0, but got {interval_s=}.")
        self.interval_s = interval_s
        self.skip = skip
        self._written: dict[str, Any] = {}
        self._last_write = float("-inf")
        self._pending = False

    def write(self, trial: optuna.Trial, series: HealthSeries, *, force: bool = False) -> None:
        """Write what changed since the last write, unless the last write was too recent or
        there is nothing yet but the objective's value (a round trip saved per epoch)."""
        self._pending = True
        now = time.monotonic()
        if not force and now - self._last_write < self.interval_s:
            return
        latest = latest_values(series, self.skip)
        if not force and not latest:
            return  # only the objective's value so far: its intermediate values show it already
        for name, value in latest.items():
            key = f"{SIGNAL_ATTR_PREFIX}{name}"
            stored = to_json_value(value)
            if self._written.get(key, _UNSET) != stored:
                trial.set_user_attr(key, stored)
                self._written[key] = stored
        trial.set_user_attr(SERIES_ATTR, series.to_json())
        self._last_write = now
        self._pending = False

    def flush(self, trial: optuna.Trial, series: HealthSeries) -> None:
        """Write anything not yet written (call before the trial ends)."""
        if self._pending:
            self.write(trial, series, force=True)
