"""Opening real storages: WAL SQLite files, PostgreSQL databases, clear errors when unreachable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import optuna
import pytest

from storage.engine import open_storage
from sweeper.errors import SweeperError


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
    with pytest.raises(SweeperError, match="no database file"):
        open_storage(f"sqlite:///{tmp_path / 'absent.db'}", must_exist=True)
    assert not (tmp_path / "absent.db").exists()


def test_unreachable_postgres_is_one_clear_error_without_the_password() -> None:
    with pytest.raises(SweeperError) as caught:
        open_storage("postgresql://root:hunter2@127.0.0.1:1/nowhere")
    assert "hunter2" not in str(caught.value)
    assert str(caught.value).startswith("storage: cannot use postgresql://root:***@127.0.0.1:1")
