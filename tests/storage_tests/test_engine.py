"""Opening real storages: WAL SQLite files, PostgreSQL databases, clear errors when unreachable."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from storage.engine import StorageFault, open_storage
from storage.errors import StorageError


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
