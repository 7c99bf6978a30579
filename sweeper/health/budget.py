"""A time budget that keeps the health monitor's cost a bounded share of training.

The monitor times its own work and the wall time of the training loop since its first call; an
optional, costly signal (the embedding spectrum) runs only when its last measured cost still fits
in `share` of the time trained so far, so it never pushes the monitor past `share`. On a large
graph that is every epoch; on a ~70 ms CPU epoch, where the every-epoch signals already take about
the default 1%, it is the first epoch only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType


class CostBudget:
    """Tracks the monitor's own seconds against `share` of the seconds trained so far.

    Args:
        share: the largest share of the training loop's wall time the monitor may spend, e.g.
            0.02; None means no budget (every optional signal runs every time).
        clock: the time source, in seconds (a benchmark that interleaves two loops passes one
            that stands still while the other loop runs).
    """

    def __init__(
        self, share: float | None, *, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        if share is not None and not 0.0 < share <= 1.0:
            raise ValueError(f"share must be in (0, 1] or None, but got {share=}.")
        self.share = share
        self.clock = clock
        self.spent = 0.0
        self._started: float | None = None

    def measure(self) -> _Span:
        """Count the time of the enclosed block (`with budget.measure(): ...`) as the monitor's
        own; a plain object rather than a generator, as it runs several times per training step."""
        return _Span(self)

    def elapsed(self) -> float:
        """Wall seconds since the monitor was first called (0 before that)."""
        return 0.0 if self._started is None else self.clock() - self._started

    def allows(self, cost: float) -> bool:
        """Whether spending `cost` more seconds keeps the monitor within its share."""
        if self.share is None:
            return True
        return self.spent + cost <= self.share * self.elapsed()


class _Span:
    """One timed block of a `CostBudget`: adds the block's clock time to `spent` on exit."""

    __slots__ = ("_budget", "_start")

    def __init__(self, budget: CostBudget) -> None:
        self._budget = budget
        self._start = 0.0

    def __enter__(self) -> None:
        budget = self._budget
        self._start = start = budget.clock()
        if budget._started is None:
            budget._started = start

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        budget = self._budget
        budget.spent += budget.clock() - self._start
