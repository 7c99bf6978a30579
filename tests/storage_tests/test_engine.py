"""Opening real storages: WAL SQLite files, PostgreSQL databases, clear errors when unreachable."""

from __future__ import annotations

import inspect
import multiprocessing
import re
import sqlite3
from pathlib import Path

import optuna
import pytest
from optuna.storages import BaseStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages._cached_storage import _CachedStorage
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.trial import TrialState

from storage.engine import (
    _RETRIED,
    ResilientRDBStorage,
    StorageFault,
    engine_kwargs_for,
    open_storage,
)
from storage.errors import StorageError

#: Public storage methods ResilientRDBStorage leaves as they are, and why no retry is needed.
NOT_RETRIED = {
    # BaseStorage builds these on get_trial / get_all_trials, which are retried
    "get_trial_number_from_id": "built on get_trial",
    "get_trial_params": "built on get_trial",
    "get_n_trials": "built on get_all_trials",
    # no query: they only touch this process's objects
    "remove_session": "closes this thread's session",
    "check_trial_is_updatable": "checks the state it is given",
    "get_heartbeat_interval": "returns a setting",
    "get_heartbeat_stale_trial_callback": "returns a setting",
    "get_failed_trial_callback": "returns a setting (Optuna's deprecated name)",
}


def test_sqlite_storage_uses_wal_so_readers_never_block_writers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    storage = open_storage(url, heartbeat_interval=1, grace_period=2, max_retry=1)
    optuna.create_study(storage=storage, study_name="s")
    with sqlite3.connect(tmp_path / "sweeps.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_postgres_storage_round_trips_a_study(postgres_url: str) -> None:
    storage = open_storage(postgres_url, heartbeat_interval=1, grace_period=2, max_retry=1)
    study = optuna.create_study(storage=storage, study_name="s")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(optuna.load_study(study_name="s", storage=open_storage(postgres_url)).trials) == 2


def test_a_missing_sqlite_file_is_not_created_by_readers(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no database file"):
        open_storage(f"sqlite:///{tmp_path / 'absent.db'}", must_exist=True)
    assert not (tmp_path / "absent.db").exists()


def test_unreachable_postgres_is_one_clear_error_without_the_password() -> None:
    with pytest.raises(StorageFault) as caught:  # the CLI's exit code 3, as any storage fault
        open_storage("postgresql://root:hunter2@127.0.0.1:1/nowhere")
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("storage: cannot use postgresql://root:***@127.0.0.1:1")


def test_a_wrong_database_name_is_bad_input_not_a_storage_fault(postgres_url: str) -> None:
    with pytest.raises(StorageError) as caught:
        open_storage(postgres_url.rsplit("/", 1)[0] + "/no_such_database_here")
    assert not isinstance(caught.value, StorageFault), caught.value


def _claim_all_waiting(url: str, start: multiprocessing.synchronize.Barrier, won: list) -> None:
    storage = open_storage(url)
    study_id = storage.get_study_id_from_name("race")
    start.wait()
    for trial in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.WAITING,)):
        try:
            if storage.set_trial_state_values(trial._trial_id, TrialState.RUNNING):
                won.append(trial.number)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass


def test_two_processes_never_take_the_same_queued_trial(storage_url: str) -> None:
    """Optuna's own RDBStorage gave about 50 of 200 queued trials to both processes on SQLite
    (it reads the state outside the transaction that writes it)."""
    study = optuna.create_study(study_name="race", storage=open_storage(storage_url))
    for x in range(200):
        study.enqueue_trial({"x": x})
    with multiprocessing.Manager() as manager:
        start = manager.Barrier(2)
        won = [manager.list(), manager.list()]
        workers = [
            multiprocessing.Process(target=_claim_all_waiting, args=(storage_url, start, mine))
            for mine in won
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        first, second = list(won[0]), list(won[1])
    assert not set(first) & set(second)
    assert sorted(first + second) == list(range(200))
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    assert len(running) == 200 and all(t.datetime_start is not None for t in running)


def _public_methods(*classes: type) -> set[str]:
    return {
        name
        for cls in classes
        for name, _ in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }


def test_every_public_storage_method_of_optuna_is_retried_or_named_as_needing_no_retry() -> None:
    """A method a new Optuna adds to BaseStorage (or its heartbeat) fails here until it is
    retried (storage.engine._RETRIED) or named in NOT_RETRIED with the reason."""
    public = _public_methods(BaseStorage, BaseHeartbeat)
    wrapped = {name for name in public if name in vars(ResilientRDBStorage)}
    assert sorted(public - wrapped - set(NOT_RETRIED)) == []
    assert sorted(set(NOT_RETRIED) - public) == []  # no stale names
    assert sorted(set(NOT_RETRIED) & wrapped) == []


def test_methods_needing_no_retry_because_they_are_built_on_retried_ones_still_are() -> None:
    for name, reason in NOT_RETRIED.items():
        if reason.startswith("built on "):
            assert getattr(RDBStorage, name) is getattr(BaseStorage, name), name
            assert reason.removeprefix("built on ") in _RETRIED, name


def test_every_retried_name_is_a_method_of_optunas_rdb_storage() -> None:
    """A private method Optuna renames fails here, not silently."""
    missing = [name for name in _RETRIED if not callable(vars(RDBStorage).get(name))]
    assert missing == []


def test_every_call_optunas_cached_storage_makes_on_its_backend_is_retried() -> None:
    """Studies reach the storage through _CachedStorage, partly by private methods."""
    called = set(re.findall(r"self\._backend\.(\w+)\(", inspect.getsource(_CachedStorage)))
    assert called, "Optuna's _CachedStorage no longer calls self._backend.<method>(...)"
    wrapped = {name for name in called if name in vars(ResilientRDBStorage)}
    assert sorted(called - wrapped - set(NOT_RETRIED)) == []


def _heartbeat_settings(storage: RDBStorage) -> dict[str, object]:
    """The storage's attributes but its connection, callbacks by their kind and settings."""
    settings: dict[str, object] = {}
    for name, value in vars(storage).items():
        if name in ("engine", "scoped_session", "_version_manager", "outage_s", "shown_url"):
            continue
        settings[name] = (type(value), vars(value)) if callable(value) else value
    return settings


def test_a_heartbeat_set_on_an_open_storage_is_the_one_optunas_constructor_sets(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    by_optuna = RDBStorage(
        url,
        engine_kwargs=engine_kwargs_for(url),
        heartbeat_interval=1,
        grace_period=2,
        heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
    )
    storage = open_storage(url)
    storage.set_heartbeat(1, grace_period=2, max_retry=1)
    assert _heartbeat_settings(storage) == _heartbeat_settings(by_optuna)
    assert _heartbeat_settings(open_storage(url)) != _heartbeat_settings(by_optuna)
