"""The failure budget's rules, on real studies in a SQLite file: which failed trials count, when
the budget is spent, what the stop records, and that a resume starts a fresh budget."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState, create_trial

from storage.engine import open_storage
from sweeper.config import FailureBudget, parse_config
from sweeper.errors import SweeperError
from sweeper.failures import (
    budget_spent,
    clear_stop,
    enforce_budget,
    stop_message,
    stopped_of,
)

DATASET_ERROR = "SweeperError: dataset: data/planetoid/Cora/raw is missing"


@pytest.fixture
def study(tmp_path: Path) -> optuna.Study:
    storage = open_storage(f"sqlite:///{tmp_path / 'budget.db'}")
    return optuna.create_study(study_name="budget", storage=storage)


def _fail(study: optuna.Study, reason: str | None = DATASET_ERROR) -> int:
    """A FAIL trial; with a reason, as the worker records an objective that raised."""
    attrs = {} if reason is None else {"fail_reason": reason}
    study.add_trial(create_trial(state=TrialState.FAIL, user_attrs=attrs))
    return study.get_trials(deepcopy=False)[-1].number


def _complete(study: optuna.Study) -> None:
    study.add_trial(create_trial(state=TrialState.COMPLETE, value=1.0))


def _killed_and_retried(study: optuna.Study) -> int:
    """A trial failed for a dead worker (no reason) and re-queued by Optuna's retry callback."""
    number = _fail(study, reason=None)
    failed = study.get_trials(deepcopy=True)[number]
    RetryHeartbeatStaleTrialCallback(max_retry=3)(study, failed)
    return number


def _spent(study: optuna.Study, budget: FailureBudget | None = None) -> dict | None:
    return budget_spent(study.get_trials(deepcopy=False), budget or FailureBudget())


def test_the_default_budget_is_five_failures_in_a_row_and_no_total() -> None:
    config = parse_config(
        {"study": "s", "objective": "toy_regression", "direction": "minimize", "metric": "m",
         "n_trials": 3}
    )  # fmt: skip
    assert config.failures == FailureBudget(max_consecutive=5, max_total=None)


def test_a_budget_of_zero_is_refused_naming_the_field() -> None:
    with pytest.raises(SweeperError, match=r"^failures -> max_consecutive: Input should be"):
        parse_config(
            {"study": "s", "objective": "toy_regression", "direction": "minimize",
             "metric": "m", "n_trials": 3, "failures": {"max_consecutive": 0}}
        )  # fmt: skip


def test_five_objective_failures_in_a_row_spend_the_budget_and_four_do_not(
    study: optuna.Study,
) -> None:
    for _ in range(4):
        _fail(study)
    assert _spent(study) is None
    _fail(study)
    spent = _spent(study)
    assert spent is not None
    assert (spent["rule"], spent["count"], spent["limit"]) == ("max_consecutive", 5, 5)
    assert spent["error"] == DATASET_ERROR and spent["trials"] == [0, 1, 2, 3, 4]
    assert stop_message("quickstart", spent) == (
        f"study quickstart stopped: 5 trials in a row failed ({DATASET_ERROR})"
    )


def test_a_completed_trial_ends_the_streak(study: optuna.Study) -> None:
    for _ in range(4):
        _fail(study)
    _complete(study)
    for _ in range(4):
        _fail(study)
    assert _spent(study) is None


def test_trials_of_killed_workers_and_stop_signals_neither_count_nor_break_the_streak(
    study: optuna.Study,
) -> None:
    for _ in range(2):
        _fail(study)
    killed = _killed_and_retried(study)
    interrupted = _fail(study, reason=None)  # a Ctrl-C: no reason, retried by the worker
    RetryHeartbeatStaleTrialCallback(max_retry=3)(study, study.get_trials()[interrupted])
    _fail(study)
    _fail(study)
    assert _spent(study) is None, "4 objective failures so far"
    _fail(study)
    spent = _spent(study)
    assert spent is not None and spent["count"] == 5
    assert killed not in spent["trials"] and interrupted not in spent["trials"]


def test_a_surplus_trial_refused_at_start_does_not_count(study: optuna.Study) -> None:
    for _ in range(4):
        _fail(study)
    _fail(study, reason="surplus: the study's target was already filled by earlier trials")
    assert _spent(study) is None


def test_max_total_counts_failures_across_completed_trials(study: optuna.Study) -> None:
    budget = FailureBudget(max_consecutive=None, max_total=3)
    for _ in range(2):
        _fail(study, reason="ValueError: x=-1 is negative")
        _complete(study)
    assert _spent(study, budget) is None
    _fail(study, reason="ValueError: x=-2 is negative")
    spent = _spent(study, budget)
    assert spent is not None and (spent["rule"], spent["count"]) == ("max_total", 3)
    assert stop_message("s", spent) == (
        "study s stopped: 3 trials failed in all (failures.max_total 3) "
        "(ValueError: x=-1 is negative)"
    )


def test_the_stop_names_the_most_frequent_error_on_one_line(study: optuna.Study) -> None:
    _fail(study, reason="KeyError: 'x'")
    for _ in range(3):
        _fail(study, reason="RuntimeError: CUDA error:\n  device-side assert triggered")
    _fail(study, reason="KeyError: 'x'")
    spent = _spent(study)
    assert spent is not None
    assert spent["error"] == "RuntimeError: CUDA error: device-side assert triggered"
    assert spent["error_count"] == 3


def test_a_spent_budget_is_recorded_on_the_study_and_a_resume_starts_a_fresh_one(
    study: optuna.Study,
) -> None:
    for _ in range(5):
        _fail(study)
    budget = FailureBudget()
    stopped = enforce_budget(study, study.get_trials(deepcopy=False), budget)
    assert stopped is not None and stopped_of(study) == stopped

    assert clear_stop(study) == stopped
    assert stopped_of(study) is None
    assert enforce_budget(study, study.get_trials(deepcopy=False), budget) is None
    for _ in range(4):
        _fail(study)
    assert enforce_budget(study, study.get_trials(deepcopy=False), budget) is None
    _fail(study)
    again = enforce_budget(study, study.get_trials(deepcopy=False), budget)
    assert again is not None and again["trials"] == [5, 6, 7, 8, 9]


def test_a_relaunch_may_change_the_failure_budget_and_every_worker_reads_the_new_one(
    tmp_path: Path,
) -> None:
    from sweeper.studies import create_or_continue, stored_config

    storage = open_storage(f"sqlite:///{tmp_path / 'relaunch.db'}")
    file = {
        "study": "s", "objective": "toy_regression", "direction": "minimize", "metric": "m",
        "n_trials": 3,
    }  # fmt: skip
    create_or_continue(storage, parse_config(file))
    raised = parse_config({**file, "failures": {"max_consecutive": 8, "max_total": 20}})
    create_or_continue(storage, raised)
    assert stored_config(storage, "s").failures == FailureBudget(max_consecutive=8, max_total=20)
