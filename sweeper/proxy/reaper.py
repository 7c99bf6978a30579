"""Fail and re-queue the trials of workers that went silent behind the proxy.

Workers on the proxy cannot ask the database which trials are stale (the proxy protocol has no
such call), so the proxy does it for them: every few seconds, for each sweeper study, Optuna's
own `fail_stale_trials` with the grace period and retry count of the study's stored file.
"""

from __future__ import annotations

import logging
import threading

import optuna
from optuna.study._frozen import FrozenStudy

from storage.engine import ResilientRDBStorage
from storage.errors import StorageError
from sweeper.config import HeartbeatConfig, parse_config
from sweeper.errors import SweeperError
from sweeper.study_attrs import CONFIG_ATTR

REAP_EVERY_S = 5.0
_log = logging.getLogger(__name__)


class StaleTrialReaper(threading.Thread):
    """A daemon thread that re-queues stale trials of every sweeper study in `storage`."""

    def __init__(self, storage: ResilientRDBStorage, every_s: float = REAP_EVERY_S) -> None:
        super().__init__(name="sweeper-proxy-reaper", daemon=True)
        self.storage = storage
        self.every_s = every_s
        self.stopped = threading.Event()
        self._heartbeats: dict[int, HeartbeatConfig | None] = {}

    def run(self) -> None:
        while not self.stopped.wait(self.every_s):
            try:
                self.reap_once()
            except (StorageError, optuna.exceptions.OptunaError) as error:
                _log.warning("stale-trial check skipped: %s", error)

    def reap_once(self) -> int:
        """Fail and re-queue the stale trials of every sweeper study; how many were failed."""
        failed = 0
        for frozen in self.storage.get_all_studies():
            heartbeat = self._heartbeat_of(frozen)
            if heartbeat is None:
                continue
            self.storage.set_heartbeat(
                heartbeat.interval, grace_period=heartbeat.grace_period,
                max_retry=heartbeat.max_retry,
            )  # fmt: skip
            stale = self.storage._get_stale_trial_ids(frozen._study_id)
            if not stale:
                continue
            study = optuna.load_study(
                study_name=frozen.study_name,
                storage=self.storage,
                sampler=optuna.samplers.RandomSampler(),
            )
            optuna.storages.fail_stale_trials(study)
            failed += len(stale)
            _log.info("study %s: re-queued stale trials %s", frozen.study_name, stale)
        return failed

    def _heartbeat_of(self, frozen: FrozenStudy) -> HeartbeatConfig | None:
        """The heartbeat settings of a study's stored file (parsed once per study)."""
        if frozen._study_id not in self._heartbeats:
            stored = frozen.user_attrs.get(CONFIG_ATTR)
            try:
                heartbeat = parse_config(stored).heartbeat if isinstance(stored, dict) else None
            except SweeperError:  # not a study file this version reads: leave it alone
                heartbeat = None
            self._heartbeats[frozen._study_id] = heartbeat
        return self._heartbeats[frozen._study_id]
