"""A client of `sweeper proxy`: Optuna's GrpcStorageProxy that waits out a proxy restart and
keeps its trials' heartbeat.

Optuna's proxy protocol has no heartbeat call. This client sends each beat as the reserved trial
system attribute `HEARTBEAT_ATTR`; `sweeper proxy` writes it as the database's own heartbeat row
(never as an attribute) and fails and re-queues stale trials itself, with each study's grace
period. A plain Optuna proxy would store the attribute and re-queue nothing.
"""

from __future__ import annotations

import os

# gRPC's C core prints its own lines (a taken port, a lost connection) on stderr; these commands
# say what happened in one line of their own. GRPC_VERBOSITY set by the user still wins.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import functools
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import grpc  # noqa: E402 (after its log level is chosen)
import optuna
from optuna.storages import GrpcStorageProxy, RetryHeartbeatStaleTrialCallback
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.trial import FrozenTrial

from storage.errors import StorageFault
from storage.urls import grpc_address, redact_url

if TYPE_CHECKING:
    StaleTrialCallback = Callable[[optuna.Study, FrozenTrial], None]

__all__ = ["HEARTBEAT_ATTR", "ResilientGrpcStorage", "open_grpc_storage"]

#: The trial system attribute a beat is sent as; `sweeper proxy` turns it into a heartbeat row.
HEARTBEAT_ATTR = "sweeper:heartbeat"
CONNECT_TIMEOUT_S = 10.0
RETRY_PAUSE_S = 1.0
#: gRPC codes of a proxy that is away (restarting, not yet listening): waited out.
_AWAY = (grpc.StatusCode.UNAVAILABLE,)


class ResilientGrpcStorage(GrpcStorageProxy, BaseHeartbeat):
    """A GrpcStorageProxy whose calls wait out an absent proxy for up to `outage_s` seconds and
    whose trials beat through the proxy into the database's heartbeat table."""

    outage_s: float = 120.0
    heartbeat_interval: int | None = None
    grace_period: int | None = None

    def __init__(self, url: str) -> None:
        host, port = grpc_address(url)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            super().__init__(host=host, port=port)
        self.url = url
        self.shown_url = redact_url(url)
        self._stale_callback: StaleTrialCallback | None = None

    def _retrying(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        first_failure: float | None = None
        while True:
            try:
                return method(self, *args, **kwargs)
            except grpc.RpcError as error:
                code = error.code() if isinstance(error, grpc.Call) else None
                details = (error.details() if isinstance(error, grpc.Call) else "") or str(code)
                if code not in _AWAY:
                    raise StorageFault(
                        f"storage: the proxy at {self.shown_url} answered "
                        f"{getattr(code, 'name', code)}: {details.splitlines()[0]}"
                    ) from None
                now = time.monotonic()
                first_failure = first_failure or now
                if now - first_failure >= self.outage_s:
                    raise StorageFault(
                        f"storage: {self.shown_url} unreachable for {now - first_failure:.0f} s "
                        f"(bound {self.outage_s:g} s): {details.splitlines()[0]}"
                    ) from None
                time.sleep(min(RETRY_PAUSE_S, self.outage_s - (now - first_failure)))

    def set_heartbeat(
        self, interval: int, *, grace_period: int | None = None, max_retry: int | None = None
    ) -> None:
        """Beat every `interval` seconds for a running trial; the proxy fails and re-queues
        trials silent for the study file's grace period (up to `max_retry` times)."""
        if interval <= 0:
            raise ValueError(f"interval should be a positive integer, but got {interval=}.")
        self.heartbeat_interval = interval
        self.grace_period = grace_period
        self._stale_callback = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)

    def record_heartbeat(self, trial_id: int) -> None:
        """Send one beat; when the proxy stays away past the bound, skip it quietly (the worker's
        main thread reports the problem)."""
        try:
            self.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, 1)
        except (StorageFault, KeyError, optuna.exceptions.UpdateFinishedTrialError):
            pass

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        """None here: the proxy, which sees the database's clock, fails stale trials itself."""
        return []

    def get_heartbeat_interval(self) -> int | None:
        return self.heartbeat_interval

    def get_heartbeat_stale_trial_callback(self) -> StaleTrialCallback | None:
        return self._stale_callback

    def dispose(self) -> None:
        """Close the channel (RDB storages dispose their engine)."""
        self.close()


_RETRIED = (
    "create_new_study", "delete_study", "set_study_user_attr", "set_study_system_attr",
    "get_study_id_from_name", "get_study_name_from_id", "get_study_directions",
    "get_study_user_attrs", "get_study_system_attrs", "get_all_studies", "create_new_trial",
    "set_trial_param", "set_trial_state_values", "set_trial_intermediate_value",
    "set_trial_user_attr", "set_trial_system_attr", "get_trial_id_from_study_id_trial_number",
    "get_trial", "get_all_trials",
)  # fmt: skip


def _retried(name: str) -> Callable[..., Any]:
    original = getattr(GrpcStorageProxy, name)

    @functools.wraps(original)
    def call(self: ResilientGrpcStorage, *args: Any, **kwargs: Any) -> Any:
        return self._retrying(original, *args, **kwargs)

    return call


for _name in _RETRIED:
    setattr(ResilientGrpcStorage, _name, _retried(_name))


def open_grpc_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    max_retry: int | None = None,
    outage_s: float = 120.0,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
) -> ResilientGrpcStorage:
    """Connect to `sweeper proxy` at a grpc://HOST:PORT URL; StorageFault when no proxy answers
    within `connect_timeout_s` seconds."""
    storage = ResilientGrpcStorage(url)
    try:
        storage.wait_server_ready(timeout=connect_timeout_s)
    except ConnectionError:
        storage.close()
        raise StorageFault(
            f"storage: no proxy answers at {storage.shown_url} within {connect_timeout_s:g} s "
            "(start one with `sweeper proxy --storage URL`)"
        ) from None
    storage.outage_s = outage_s
    if heartbeat_interval is not None:
        storage.set_heartbeat(heartbeat_interval, grace_period=grace_period, max_retry=max_retry)
    return storage
