"""The failure budget: a study whose trials keep failing stops instead of failing forever.

The study file's `failures: {max_consecutive: 5, max_total: null}` bounds the failed trials a
study takes. The count is read from the storage, so it holds across workers and machines. Only
a trial whose objective failed counts (it carries user attribute `fail_reason`); a trial failed
by a stop signal or by a dead worker's heartbeat (and re-queued), or refused as surplus, does
not. When the budget is spent the reason is stored on the study (user attribute
`sweeper.stopped`), every worker stops taking trials, and `sweeper resume` clears it and starts
a fresh budget from the next trial.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sweeper.study_attrs import COUNT_FROM_ATTR, STOPPED_ATTR
from sweeper.trial_attrs import FAIL_REASON_ATTR

if TYPE_CHECKING:  # no Optuna import at run time: `sweeper status` shows a stop without it
    import optuna
    from optuna.trial import FrozenTrial

    from sweeper.config import FailureBudget

__all__ = [
    "FAIL_REASON_ATTR",
    "STOPPED_ATTR",
    "SURPLUS_PREFIX",
    "budget_spent",
    "clear_stop",
    "counts_against_budget",
    "enforce_budget",
    "stop_message",
    "stopped_of",
]

_OK = ("COMPLETE", "PRUNED")
#: How the fail reason of a trial refused at start (the target already filled) begins.
SURPLUS_PREFIX = "surplus:"
ERROR_MAX_CHARS = 300


def counts_against_budget(trial: FrozenTrial, retried: set[int]) -> bool:
    """Whether a trial is a failure of its objective (not a stop, a dead worker or a surplus)."""
    if trial.state.name != "FAIL" or trial.number in retried:
        return False
    reason = trial.user_attrs.get(FAIL_REASON_ATTR)
    return isinstance(reason, str) and not reason.startswith(SURPLUS_PREFIX)


def _retried(trials: list[FrozenTrial]) -> set[int]:
    """Numbers of trials Optuna's retry callback re-queued (a killed worker, a stop signal)."""
    return {
        number for trial in trials for number in (trial.system_attrs.get("retry_history") or [])
    }


def _completion_order(trial: FrozenTrial) -> tuple[datetime, int]:
    return (trial.datetime_complete or datetime.max, trial.number)


def budget_spent(
    trials: list[FrozenTrial], budget: FailureBudget, *, count_from: int = 0
) -> dict[str, Any] | None:
    """Why the budget is spent (the record stored as `sweeper.stopped`), or None while it is not.

    Consecutive failures are counted back from the latest trial to end (in completion order)
    until a COMPLETE or PRUNED one; failures that do not count are skipped, neither breaking
    nor extending the streak. Only trials numbered `count_from` or later are counted.

    Every worker asks this before each trial, so the streak is read from the trials that ended
    after the latest COMPLETE or PRUNED one only (a study of 10,000 trials costs what a study
    of 10 does); only `max_total` reads every trial.
    """
    counted = [t for t in trials if t.number >= count_from] if count_from else trials
    last_ok = max(
        (_completion_order(t) for t in counted if t.datetime_complete and t.state.name in _OK),
        default=None,
    )
    tail = sorted(
        (
            t
            for t in counted
            if t.datetime_complete is not None
            and (last_ok is None or _completion_order(t) > last_ok)
        ),
        key=_completion_order,
    )
    if budget.max_total is None and not tail:
        return None
    # A re-queued trial's copy is numbered after it: the tail's retries are among later trials.
    first = min((t.number for t in tail), default=0) if budget.max_total is None else 0
    retried = _retried([t for t in trials if t.number > first] if first else trials)
    streak = [t for t in reversed(tail) if counts_against_budget(t, retried)]
    if budget.max_consecutive is not None and len(streak) >= budget.max_consecutive:
        return _record("max_consecutive", budget.max_consecutive, streak)
    if budget.max_total is not None:
        failed = [
            t for t in counted
            if t.datetime_complete is not None and counts_against_budget(t, retried)
        ]  # fmt: skip
        if len(failed) >= budget.max_total:
            return _record("max_total", budget.max_total, sorted(failed, key=_completion_order))
    return None


def _record(rule: str, limit: int, failed: list[FrozenTrial]) -> dict[str, Any]:
    errors = Counter(_one_line(str(t.user_attrs[FAIL_REASON_ATTR])) for t in failed)
    error, error_count = errors.most_common(1)[0]
    return {
        "rule": rule,
        "limit": limit,
        "count": len(failed),
        "error": error,
        "error_count": error_count,
        "trials": sorted(t.number for t in failed),
        "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= ERROR_MAX_CHARS else line[: ERROR_MAX_CHARS - 3] + "..."


def stopped_of(study: optuna.Study) -> dict[str, Any] | None:
    """Why the study stopped, or None while it may run."""
    stopped = study.user_attrs.get(STOPPED_ATTR)
    return stopped if isinstance(stopped, dict) else None


def count_from(study: optuna.Study) -> int:
    """The first trial number the current failure budget counts."""
    return int(study.user_attrs.get(COUNT_FROM_ATTR, 0))


def stop_message(study_name: str, stopped: dict[str, Any]) -> str:
    """`study NAME stopped: 5 trials in a row failed (Type: message)`."""
    if stopped.get("rule") == "max_total":
        what = f"{stopped['count']} trials failed in all (failures.max_total {stopped['limit']})"
    else:
        what = f"{stopped['count']} trials in a row failed"
    return f"study {study_name} stopped: {what} ({stopped['error']})"


def clear_stop(study: optuna.Study) -> dict[str, Any] | None:
    """Let a stopped study run again with a fresh budget (from the next trial); the old reason."""
    stopped = stopped_of(study)
    if stopped is None:
        return None
    study.set_user_attr(COUNT_FROM_ATTR, len(study.get_trials(deepcopy=False)))
    study.set_user_attr(STOPPED_ATTR, None)
    return stopped


def enforce_budget(
    study: optuna.Study,
    trials: list[FrozenTrial],
    budget: FailureBudget,
    attrs: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Why the study is stopped, recording it first when these trials just spent the budget;
    None while trials may still be taken. `attrs`: the study's user attributes, if just read."""
    attrs = study.user_attrs if attrs is None else attrs
    stopped = attrs.get(STOPPED_ATTR)
    if isinstance(stopped, dict):
        return stopped
    spent = budget_spent(trials, budget, count_from=int(attrs.get(COUNT_FROM_ATTR, 0)))
    if spent is not None:
        study.set_user_attr(STOPPED_ATTR, spent)
    return spent
