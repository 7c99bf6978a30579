"""Open an Optuna RDBStorage for many workers: WAL SQLite or pooled PostgreSQL, heartbeat on.

The storage rides out short outages (a PostgreSQL restart, a busy SQLite file): every storage
call is retried until the database answers again, for at most `outage_s` seconds in a row; past
that bound calls raise `StorageUnavailable` at once, so a worker can stop with one clear line.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages._rdb import models as rdb_models
from optuna.storages._rdb.storage import _create_scoped_session
from optuna.trial import TrialState
from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.exc import DBAPIError, DisconnectionError, PendingRollbackError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from storage.errors import StorageError, StorageFault
from storage.urls import is_grpc_url, parse_storage_url, redact_text, redact_url, sqlite_path

if TYPE_CHECKING:
    from typing import TypeAlias

    from storage.grpc_client import ResilientGrpcStorage

    #: What `open_storage` returns: a database, or `sweeper proxy` in front of one.
    SweeperStorage: TypeAlias = "ResilientRDBStorage | ResilientGrpcStorage"

SQLITE_BUSY_TIMEOUT_S = 60
POSTGRES_CONNECT_TIMEOUT_S = 10
POSTGRES_POOL_RECYCLE_S = 300
#: Default bound on how long a storage may stay away before workers give up (seconds).
STORAGE_OUTAGE_S = 120
RETRY_PAUSE_S = 1.0
SCHEMA_RACE_ATTEMPTS = 5
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "busy")


_SQLITE_FAULTS = (
    "database or disk is full", "readonly database", "disk i/o error", "unable to open",
    "database disk image is malformed",
)  # fmt: skip


class StorageUnavailable(StorageFault):
    """The storage did not answer for longer than the configured outage bound."""


def is_transient(error: BaseException, backend: str) -> bool:
    """Whether a storage error is an outage worth waiting out (lost connection, locked file),
    rather than a problem retrying cannot fix (read-only file, full disk, bad data)."""
    cause = error.__cause__ if isinstance(error, optuna.exceptions.StorageInternalError) else error
    if isinstance(cause, PendingRollbackError):
        # A statement failed mid-transaction (a connection lost inside an ORM load) and the
        # session refused the next one: what failed first says whether to wait.
        first = cause.__context__
        return first is not None and is_transient(first, backend)
    if isinstance(cause, DisconnectionError | PoolTimeoutError):
        return True
    if not isinstance(cause, DBAPIError):
        return False
    if cause.connection_invalidated:
        return True
    if backend == "postgresql":
        return type(cause).__name__ in ("OperationalError", "InterfaceError")
    message = str(cause.orig).lower()
    return any(text in message for text in _SQLITE_TRANSIENT)


class ResilientRDBStorage(RDBStorage):
    """An RDBStorage whose calls wait out a storage outage of up to `outage_s` seconds."""

    outage_s: float = STORAGE_OUTAGE_S
    shown_url: str = ""  # the user's URL with its password replaced by ***
    _down_since: float | None = None

    def _retrying(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        backend = self.engine.dialect.name
        first_failure: float | None = None
        while True:
            try:
                result = method(self, *args, **kwargs)
            except (SQLAlchemyError, optuna.exceptions.StorageInternalError) as error:
                if not is_transient(error, backend):
                    fault = self._fault(error)
                    if fault is None:
                        raise
                    raise fault from None
                now = time.monotonic()
                first_failure = first_failure or now
                with _OUTAGE_LOCK:
                    self._down_since = self._down_since or now
                    # bounded per call too: another thread's success must not keep this
                    # call retrying forever
                    down_for = now - min(self._down_since, first_failure)
                if down_for >= self.outage_s:
                    raise self._unavailable(error, down_for) from None
                time.sleep(min(RETRY_PAUSE_S, self.outage_s - down_for))
                continue
            if self._down_since is not None:
                with _OUTAGE_LOCK:
                    self._down_since = None
            return result

    def _unavailable(self, error: BaseException, down_for: float) -> StorageUnavailable:
        cause = (
            error.__cause__ if isinstance(error, optuna.exceptions.StorageInternalError) else error
        )
        reason = str(getattr(cause, "orig", None) or cause).strip().splitlines()
        text = redact_text(reason[0] if reason else type(cause).__name__, self.url)
        return StorageUnavailable(
            f"storage: {self.shown_url} unreachable for {down_for:.0f} s "
            f"(bound {self.outage_s:g} s): {text}"
        )

    def _fault(self, error: BaseException) -> StorageFault | None:
        """A clear error for a database that cannot take writes (SQLite's own words)."""
        cause = (
            error.__cause__ if isinstance(error, optuna.exceptions.StorageInternalError) else error
        )
        if not isinstance(cause, DBAPIError) or type(cause).__name__ != "OperationalError":
            return None
        reason = str(cause.orig).strip().splitlines()[0] if str(cause.orig).strip() else ""
        if not _is_fault(reason):
            return None
        return StorageFault(f"storage: cannot write to {self.shown_url}: {reason}")

    def set_heartbeat(
        self, interval: int, *, grace_period: int | None = None, max_retry: int | None = None
    ) -> None:
        """Turn the heartbeat on, as RDBStorage's `heartbeat_interval`, `grace_period` and
        `heartbeat_stale_trial_callback` arguments do: trials that stop beating for
        `grace_period` seconds are failed and re-queued (up to `max_retry` times).

        RDBStorage only keeps these settings and reads them at each call, so they may be set on
        an open storage before a study uses it (a test pins this to Optuna's constructor)."""
        if interval <= 0:
            raise ValueError(f"interval should be a positive integer, but got {interval=}.")
        if grace_period is not None and grace_period <= 0:
            raise ValueError(f"grace_period should be a positive integer, but got {grace_period=}.")
        self.heartbeat_interval = interval
        self.grace_period = grace_period
        self.heartbeat_stale_trial_callback = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
        self.failed_trial_callback = self.heartbeat_stale_trial_callback  # Optuna's old name

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        """As RDBStorage's, but taking a queued trial (WAITING -> RUNNING) is one conditional
        UPDATE, so two workers can never both take it. (RDBStorage reads the state before it
        writes; on SQLite that read is outside the write's transaction, and both workers then
        ran the same queued trial.)"""
        if state == TrialState.RUNNING and values is None:
            return self._retrying(_claim_waiting_trial, trial_id)
        return self._retrying(RDBStorage.set_trial_state_values, trial_id, state, values)

    def record_heartbeat(self, trial_id: int) -> None:
        """Beat for a running trial; when the storage is away past the bound or cannot take
        writes, skip the beat quietly (the worker's main thread reports the problem)."""
        try:
            self._retrying(RDBStorage.record_heartbeat, trial_id)
        except StorageFault:
            pass

    def dispose(self) -> None:
        """Close the engine's connections (a gRPC storage closes its channel)."""
        self.engine.dispose()

    def trial_states(
        self, study_id: int, trial_ids: Collection[int], after: int
    ) -> dict[int, TrialState]:
        """The state of every trial of the study in `trial_ids` or with an id above `after`, in
        one two-column query: what `sweeper proxy` checks before it loads any trial in full."""
        return cast(
            "dict[int, TrialState]",
            self._retrying(_select_trial_states, study_id, set(trial_ids), after),
        )


def _select_trial_states(
    storage: RDBStorage, study_id: int, trial_ids: set[int], after: int
) -> dict[int, TrialState]:
    trial = rdb_models.TrialModel
    wanted = trial.trial_id > after
    if trial_ids:
        wanted = or_(wanted, trial.trial_id.in_(trial_ids))
    query = select(trial.trial_id, trial.state).where(trial.study_id == study_id, wanted)
    with storage.engine.connect() as connection:
        return {int(trial_id): TrialState(state) for trial_id, state in connection.execute(query)}


def _claim_waiting_trial(storage: RDBStorage, trial_id: int) -> bool:
    """Mark a WAITING trial RUNNING in one statement; False when another process took it first
    (Optuna's UpdateFinishedTrialError when it has finished meanwhile)."""
    trial_model = rdb_models.TrialModel
    claim = (
        update(trial_model)
        .where(trial_model.trial_id == trial_id, trial_model.state == TrialState.WAITING)
        .values(
            {trial_model.state: TrialState.RUNNING, trial_model._datetime_start_utc: _utc_now()}
        )
    )
    with _create_scoped_session(storage.scoped_session) as session:
        # An UPDATE's result is a CursorResult (SQLAlchemy types `Session.execute` as Result).
        if cast(CursorResult[Any], session.execute(claim)).rowcount == 1:
            return True
        trial = rdb_models.TrialModel.find_or_raise_by_id(trial_id, session)
        # TrialState(...) is the loaded member itself; it types the value whether Optuna's model
        # declares a `Column` or a `Mapped[TrialState]` (which differs across SQLAlchemy builds).
        storage.check_trial_is_updatable(trial_id, TrialState(trial.state))
    return False


def _utc_now() -> datetime:
    """Naive UTC, as RDBStorage stores trial times."""
    return datetime.now(UTC).replace(tzinfo=None)


_OUTAGE_LOCK = threading.Lock()
#: RDBStorage's methods that query the database, retried through an outage (besides the two
#: overridden above). tests/storage_tests/test_engine.py pins the list to Optuna's: a storage
#: method Optuna adds, or a private one it renames, fails there.
_RETRIED = (
    "create_new_study", "delete_study", "set_study_user_attr", "set_study_system_attr",
    "get_study_id_from_name", "get_study_name_from_id", "get_study_directions",
    "get_study_user_attrs", "get_study_system_attrs", "get_trial_user_attrs",
    "get_trial_system_attrs", "get_all_studies", "create_new_trial", "set_trial_param",
    "get_trial_param", "set_trial_intermediate_value",
    "set_trial_user_attr", "set_trial_system_attr", "get_trial_id_from_study_id_trial_number",
    "get_trial", "get_all_trials", "get_best_trial", "_get_stale_trial_ids",
    # the private calls Optuna's _CachedStorage makes on its backend
    "_create_new_trial", "_set_trial_param", "_get_trials", "_get_best_trial_id",
)  # fmt: skip


def _retried(name: str) -> Callable[..., Any]:
    original = getattr(RDBStorage, name)

    @functools.wraps(original)
    def call(self: ResilientRDBStorage, *args: Any, **kwargs: Any) -> Any:
        return self._retrying(original, *args, **kwargs)

    return call


for _name in _RETRIED:
    setattr(ResilientRDBStorage, _name, _retried(_name))


def engine_kwargs_for(url: str, pool_size: int | None = None) -> dict[str, Any]:
    """SQLAlchemy engine settings shared by workers and the dashboard for this URL; with
    `pool_size`, at most that many PostgreSQL connections (the proxy's bound)."""
    if parse_storage_url(url).get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    bound = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": 0}
    return {
        "pool_pre_ping": True,
        "pool_recycle": POSTGRES_POOL_RECYCLE_S,
        "connect_args": {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S},
        **bound,
    }


def _prepare_sqlite(url: str, *, must_exist: bool) -> None:
    path = sqlite_path(url)
    if path is None:
        return
    if not path.exists():
        if must_exist:
            raise StorageError(f"storage: no database file at {path}")
        if not path.parent.is_dir():
            raise StorageError(f"storage: directory {path.parent} does not exist")
    try:
        # WAL lets the dashboard read while workers write; the mode is kept in the file.
        with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S) as connection:
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":  # switching takes a lock: only when needed
                connection.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as error:
        read_only = _read_only(path)
        hint = " (read-only: SQLite must write the file and, for WAL, its directory)"
        kind = StorageFault if read_only or _is_fault(str(error)) else StorageError
        raise kind(f"storage: cannot open {path}: {error}{hint if read_only else ''}") from None


def _lost_schema_race(reason: str) -> bool:
    """Whether opening failed only because another process created the schema meanwhile."""
    return "already exists" in reason or (
        ("UNIQUE constraint failed" in reason or "duplicate key" in reason)
        and ("alembic_version" in reason or "version_info" in reason)
    )


def _is_fault(reason: str) -> bool:
    """Whether SQLite's reason is one of the faults of a file that cannot take writes."""
    return any(text in reason.lower() for text in _SQLITE_FAULTS)


def _read_only(path: Path) -> bool:
    """Whether SQLite cannot write the file or its directory (permissions or a read-only mount;
    `os.access` alone says yes to root on a read-only mount)."""
    writable = os.access(path, os.W_OK) if path.exists() else True
    if not (writable and os.access(path.parent, os.W_OK)):
        return True
    return bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)


def _is_wrong_address(reason: str) -> bool:
    """Whether the server answered but refused the URL itself (no such database or role, a
    wrong password): bad input, which waiting for the storage cannot fix."""
    text = reason.lower()
    return "does not exist" in text or "authentication failed" in text


def open_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    max_retry: int | None = None,
    must_exist: bool = False,
    outage_s: float = STORAGE_OUTAGE_S,
) -> SweeperStorage:
    """Connect to the storage at `url`; raise StorageError (password redacted) if it fails.

    With a heartbeat interval, trials of workers that stop beating for `grace_period` seconds
    are failed and re-queued with the same parameters (up to `max_retry` times). Storage calls
    wait out an outage of up to `outage_s` seconds, then raise StorageUnavailable. A
    grpc://HOST:PORT URL opens `sweeper proxy` (the database behind it must exist).
    """
    if is_grpc_url(url):
        parse_storage_url(url)
        from storage.grpc_client import open_grpc_storage

        return open_grpc_storage(
            url,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            max_retry=max_retry,
            outage_s=outage_s,
        )
    return open_database(
        url,
        heartbeat_interval=heartbeat_interval,
        grace_period=grace_period,
        max_retry=max_retry,
        must_exist=must_exist,
        outage_s=outage_s,
    )


def open_database(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    max_retry: int | None = None,
    must_exist: bool = False,
    outage_s: float = STORAGE_OUTAGE_S,
    pool_size: int | None = None,
) -> ResilientRDBStorage:
    """`open_storage` for a SQLite or PostgreSQL URL, optionally with a bounded pool."""
    parsed = parse_storage_url(url)
    _prepare_sqlite(url, must_exist=must_exist)
    for attempt in range(SCHEMA_RACE_ATTEMPTS):
        try:
            storage = ResilientRDBStorage(
                parsed.render_as_string(hide_password=False),
                engine_kwargs=engine_kwargs_for(url, pool_size),
            )
            break
        except (SQLAlchemyError, optuna.exceptions.StorageInternalError, OSError) as error:
            # Optuna's StorageInternalError says only "an exception is raised during the
            # commit"; the database's own words (`too many clients already`) are its cause.
            cause = (
                error.__cause__
                if isinstance(error, optuna.exceptions.StorageInternalError)
                else None
            )
            shown = cause if cause is not None else error
            reason = redact_text(str(getattr(shown, "orig", None) or shown), url).strip()
            reason = reason.splitlines()[0] if reason else type(error).__name__
            # Two processes opening a brand-new database both create Optuna's tables and stamp
            # its schema version; the loser sees "already exists" or the stamp's unique key
            # (SQLite: "UNIQUE constraint failed: alembic_version.version_num") and only has to
            # open it again.
            if _lost_schema_race(reason) and attempt + 1 < SCHEMA_RACE_ATTEMPTS:
                time.sleep(0.2 * (attempt + 1))
                continue
            kind = StorageError if _is_wrong_address(reason) else StorageFault
            raise kind(f"storage: cannot use {redact_url(url)}: {reason}") from None
    storage.outage_s = outage_s
    storage.shown_url = redact_url(url)
    if heartbeat_interval is not None:
        storage.set_heartbeat(heartbeat_interval, grace_period=grace_period, max_retry=max_retry)
    return storage
