"""Opening a study from the storage alone: one engine, with its stored file's heartbeat settings."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

import sweeper.studies
from storage.engine import ResilientRDBStorage, open_storage
from sweeper.config import parse_config
from sweeper.errors import SweeperError
from sweeper.studies import create_or_continue, open_study

FILE = {
    "study": "s", "objective": "toy_regression", "direction": "minimize", "metric": "m",
    "n_trials": 3,
    "heartbeat": {"interval": 4, "grace_period": 9, "max_retry": 2, "storage_outage": 33},
}  # fmt: skip


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    create_or_continue(open_storage(url), parse_config(FILE))
    return url


def _opened(monkeypatch: pytest.MonkeyPatch) -> list[ResilientRDBStorage]:
    """Every storage open_study opens, in order."""
    opened: list[ResilientRDBStorage] = []

    def recording(*args: object, **kwargs: object) -> ResilientRDBStorage:
        opened.append(open_storage(*args, **kwargs))  # type: ignore[arg-type]
        return opened[-1]

    monkeypatch.setattr(sweeper.studies, "open_storage", recording)
    return opened


def test_open_study_runs_the_study_with_its_stored_heartbeat_on_one_engine(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = _opened(monkeypatch)
    storage, study, config = open_study(url, "s")
    assert opened == [storage]
    assert study.study_name == "s" and config == parse_config(FILE)
    assert (storage.heartbeat_interval, storage.grace_period, storage.outage_s) == (4, 9, 33)
    callback = storage.get_heartbeat_stale_trial_callback()
    assert isinstance(callback, optuna.storages.RetryHeartbeatStaleTrialCallback)
    assert callback._max_retry == 2
    assert study._storage.get_heartbeat_interval() == 4  # what Optuna's optimize reads


def test_open_study_of_a_missing_study_names_it_and_disposes_its_engine(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = _opened(monkeypatch)
    with pytest.raises(SweeperError, match="^study 'x' does not exist in sqlite:///"):
        open_study(url, "x")
    (storage,) = opened
    assert storage.engine.pool.checkedin() == 0  # its pool was replaced by an empty one
