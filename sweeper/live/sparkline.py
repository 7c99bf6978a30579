"""Sparklines: a series as a row of block characters, so a curve reads in one line of text."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["sparkline"]

_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float | None], *, log: bool | None = None, width: int = 40) -> str:
    """`▁▂▄█`: one block per value (the last `width` values), lowest to highest.

    A missing value is a space and a non-finite one `!`. `log` scales by orders of magnitude
    (the default when every value is positive and they span more than 100x), so a gradient norm
    growing from 1 to 1e5 climbs steadily instead of sitting flat until the last epoch.
    """
    values = list(values)[-width:]
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return "".join(" " if v is None else "!" for v in values)
    if log is None:
        log = min(finite) > 0 and max(finite) / min(finite) > 100
    if log and min(finite) <= 0:
        log = False

    def scale(value: float) -> float:
        return math.log10(value) if log else value

    low, high = scale(min(finite)), scale(max(finite))
    span = high - low
    out = []
    for value in values:
        if value is None:
            out.append(" ")
        elif not math.isfinite(value):
            out.append("!")
        elif span == 0:
            out.append(_BLOCKS[len(_BLOCKS) // 2])
        else:
            index = round((scale(value) - low) / span * (len(_BLOCKS) - 1))
            out.append(_BLOCKS[index])
    return "".join(out)
