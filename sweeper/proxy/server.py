"""Serve Optuna's gRPC storage proxy in front of one database.

The proxy holds a bounded pool of database connections (however many workers connect), turns
the workers' heartbeat attribute into the database's heartbeat rows, and runs the stale-trial
reaper, so a killed worker's trial is re-queued as it is on the database directly.
"""

from __future__ import annotations

import os

# gRPC's C core prints its own lines (a taken port, a lost connection) on stderr; these commands
# say what happened in one line of their own. GRPC_VERBOSITY set by the user still wins.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc  # noqa: E402 (after its log level is chosen)
from optuna.storages._cached_storage import _CachedStorage
from optuna.storages._grpc.auto_generated import api_pb2, api_pb2_grpc
from optuna.storages._grpc.servicer import OptunaStorageProxyService

from storage.engine import ResilientRDBStorage, open_database
from storage.grpc_client import HEARTBEAT_ATTR
from storage.urls import is_grpc_url
from sweeper.errors import SweeperError
from sweeper.proxy.reaper import StaleTrialReaper
from sweeper.proxy.trial_reads import TrialReads

#: Threads answering calls; each holds at most one database connection at a time.
PROXY_THREADS = 8
#: Database connections of the proxy, shared by its threads and the stale-trial reaper.
PROXY_CONNECTIONS = PROXY_THREADS


class HeartbeatProxyService(OptunaStorageProxyService):
    """Optuna's proxy service, except that a beat (the trial system attribute HEARTBEAT_ATTR)
    is written as the database's heartbeat row and never stored as an attribute."""

    def __init__(self, cache: _CachedStorage, database: ResilientRDBStorage) -> None:
        super().__init__(cache)
        self._cache = cache
        self._database = database
        self._reads = TrialReads(cache, database)

    def SetTrialSystemAttribute(  # noqa: N802 (the gRPC method's name)
        self, request: api_pb2.SetTrialSystemAttributeRequest, context: grpc.ServicerContext
    ) -> api_pb2.SetTrialSystemAttributeReply:
        if request.key == HEARTBEAT_ATTR:
            self._database.record_heartbeat(request.trial_id)
            return api_pb2.SetTrialSystemAttributeReply()
        return super().SetTrialSystemAttribute(request, context)

    def GetTrials(  # noqa: N802 (the gRPC method's name)
        self, request: api_pb2.GetTrialsRequest, context: grpc.ServicerContext
    ) -> api_pb2.GetTrialsReply:
        """The trials a client's cache lacks (numbered after its last finished one, or still
        unfinished), read without walking the whole study: Optuna's servicer sorts and filters
        every trial on each call, which makes a 10,000-trial study ten times as costly per trial
        as a 100-trial one."""
        cache = self._cache
        try:
            self._reads.refresh(request.study_id, arrived=time.monotonic_ns())
        except KeyError as error:
            context.abort(code=grpc.StatusCode.NOT_FOUND, details=str(error))
        with cache._lock:
            trials = cache._studies[request.study_id].trials
            numbers = cache._trial_id_to_study_id_and_number
            after = request.trial_id_greater_than
            if after < 0:
                wanted = list(trials.values())
            elif after in numbers:
                # Within a study, trial ids grow with trial numbers (RDBStorage numbers a trial
                # by the study's trials with a smaller id): the newer ones follow `after`'s.
                start = numbers[after][1] + 1
                wanted = [trials[n] for n in range(start, max(trials) + 1) if n in trials]
            else:
                wanted = [t for t in trials.values() if t._trial_id > after]
            seen = {t._trial_id for t in wanted}
            for trial_id in request.included_trial_ids:
                located = numbers.get(trial_id)
                if trial_id not in seen and located is not None and located[1] in trials:
                    wanted.append(trials[located[1]])
            wanted.sort(key=lambda t: t.number)
            return api_pb2.GetTrialsReply(trials=[self._reads.proto(t) for t in wanted])


class StorageProxy:
    """A started proxy: `port` is the one bound (0 asks for any free port); `stop()` ends it."""

    def __init__(self, storage_url: str, host: str, port: int) -> None:
        if is_grpc_url(storage_url):
            raise SweeperError("proxy: --storage must be a database, not another proxy")
        self.database = open_database(storage_url, pool_size=PROXY_CONNECTIONS)
        # The reaper sets the heartbeat settings it checks; nothing else reads them here.
        self.reaper = StaleTrialReaper(self.database)
        cached = _CachedStorage(self.database)  # Optuna's in-process trial cache
        self.server: Any = grpc.server(
            ThreadPoolExecutor(max_workers=PROXY_THREADS),
            options=[("grpc.so_reuseport", 0)],  # a second proxy on a taken port must fail
        )
        api_pb2_grpc.add_StorageServiceServicer_to_server(
            HeartbeatProxyService(cached, self.database), self.server
        )
        try:
            self.port = int(self.server.add_insecure_port(f"{host}:{port}"))
        except RuntimeError:
            self.port = 0
        if self.port == 0:
            self.database.dispose()
            raise SweeperError(f"--port {port}: cannot listen on {host} (in use or not an address)")
        self.server.start()
        self.reaper.start()

    def wait(self) -> None:
        """Serve until stopped (Ctrl-C, SIGTERM or `stop()`)."""
        self.server.wait_for_termination()

    def stop(self, grace_s: float = 5.0) -> None:
        """Finish the calls in flight (up to `grace_s` seconds), then close the database."""
        self.reaper.stopped.set()
        self.server.stop(grace_s).wait()
        self.database.dispose()
