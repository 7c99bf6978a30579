"""The per-epoch history of every health signal, and its JSON form for a trial user attribute.

Storages reject NaN and infinity in JSON, so non-finite values are stored as the strings "nan",
"inf" and "-inf" and read back as floats; an epoch without a signal holds null.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sweeper.trial_attrs import SERIES_ATTR, SIGNAL_ATTR_PREFIX

__all__ = ["SERIES_ATTR", "SIGNAL_ATTR_PREFIX", "HealthSeries", "from_json_value", "to_json_value"]


def to_json_value(value: float | None) -> float | str | None:
    """A float that any storage accepts in JSON: non-finite values become strings."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else str(value)


def from_json_value(value: Any) -> float | None:
    """The inverse of `to_json_value`; anything unreadable becomes None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class HealthSeries:
    """Signal values per epoch; `values(name)` is aligned with `epochs` (None where absent)."""

    def __init__(self) -> None:
        self.epochs: list[int] = []
        self._values: dict[str, list[float | None]] = {}

    def record(self, epoch: int, signals: Mapping[str, float | None]) -> None:
        """Add `signals` for `epoch`, merging into the last row when it is the same epoch."""
        if not self.epochs or self.epochs[-1] != epoch:
            self.epochs.append(int(epoch))
            for past in self._values.values():
                past.append(None)
        values = self._values
        for name, value in signals.items():
            column = values.get(name)
            if column is None:
                column = values[name] = [None] * len(self.epochs)
            column[-1] = None if value is None else float(value)

    def names(self) -> list[str]:
        """The signals recorded so far, in first-seen order."""
        return list(self._values)

    def has(self, name: str) -> bool:
        """Whether the signal was recorded at some epoch."""
        return name in self._values

    def values(self, name: str) -> list[float | None]:
        """The signal's value at each epoch of `epochs` (all None when never recorded)."""
        return self._values.get(name, [None] * len(self.epochs))

    def latest(self, name: str) -> float | None:
        """The value at the last recorded epoch, or None."""
        column = self._values.get(name)
        return column[-1] if column else None

    @property
    def last_epoch(self) -> int | None:
        """The last recorded epoch, or None for an empty series."""
        return self.epochs[-1] if self.epochs else None

    def to_json(self) -> dict[str, list[Any]]:
        """A JSON-safe dict: {"epoch": [...], "<signal>": [...]}."""
        data: dict[str, list[Any]] = {"epoch": list(self.epochs)}
        for name, column in self._values.items():
            data[name] = [to_json_value(v) for v in column]
        return data

    @classmethod
    def from_json(cls, data: Any) -> HealthSeries:
        """Read what `to_json` wrote; a missing or malformed attribute gives an empty series."""
        series = cls()
        if not isinstance(data, Mapping) or not isinstance(data.get("epoch"), list):
            return series
        series.epochs = [int(e) for e in data["epoch"]]
        for name, column in data.items():
            if name == "epoch" or not isinstance(column, list) or len(column) != len(series.epochs):
                continue
            series._values[name] = [from_json_value(v) for v in column]
        return series
