"""Open an Optuna RDBStorage for many workers: WAL SQLite or pooled PostgreSQL, heartbeat on."""

from __future__ import annotations

import sqlite3
from typing import Any

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from sqlalchemy.exc import SQLAlchemyError

from storage.urls import parse_storage_url, redact_text, redact_url, sqlite_path
from sweeper.errors import SweeperError

SQLITE_BUSY_TIMEOUT_S = 60
POSTGRES_CONNECT_TIMEOUT_S = 10
POSTGRES_POOL_RECYCLE_S = 300


def engine_kwargs_for(url: str) -> dict[str, Any]:
    """SQLAlchemy engine settings shared by workers and the dashboard for this URL."""
    if parse_storage_url(url).get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    return {
        "pool_pre_ping": True,
        "pool_recycle": POSTGRES_POOL_RECYCLE_S,
        "connect_args": {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S},
    }


def _prepare_sqlite(url: str, *, must_exist: bool) -> None:
    path = sqlite_path(url)
    if path is None:
        return
    if not path.exists():
        if must_exist:
            raise SweeperError(f"storage: no database file at {path}")
        if not path.parent.is_dir():
            raise SweeperError(f"storage: directory {path.parent} does not exist")
    try:
        # WAL lets the dashboard read while workers write; the mode is kept in the file.
        with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as error:
        raise SweeperError(f"storage: cannot open {path}: {error}") from None


def open_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    max_retry: int | None = None,
    must_exist: bool = False,
) -> RDBStorage:
    """Connect to the storage at `url`; raise SweeperError (password redacted) if it fails.

    With a heartbeat interval, trials of workers that stop beating for `grace_period` seconds
    are failed and re-queued with the same parameters (up to `max_retry` times).
    """
    parsed = parse_storage_url(url)
    _prepare_sqlite(url, must_exist=must_exist)
    heartbeat: dict[str, Any] = {}
    if heartbeat_interval is not None:
        heartbeat = {
            "heartbeat_interval": heartbeat_interval,
            "grace_period": grace_period,
            "heartbeat_stale_trial_callback": RetryHeartbeatStaleTrialCallback(max_retry=max_retry),
        }
    try:
        return RDBStorage(
            parsed.render_as_string(hide_password=False),
            engine_kwargs=engine_kwargs_for(url),
            **heartbeat,
        )
    except (SQLAlchemyError, optuna.exceptions.StorageInternalError, OSError) as error:
        reason = redact_text(str(getattr(error, "orig", None) or error), url).strip()
        reason = reason.splitlines()[0] if reason else type(error).__name__
        raise SweeperError(f"storage: cannot use {redact_url(url)}: {reason}") from None
