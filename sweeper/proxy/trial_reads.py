"""How `sweeper proxy` keeps Optuna's trial cache current for a fleet at a fraction of the cost.

Optuna's `_CachedStorage` keeps finished trials (they never change) and reloads every unfinished
trial in full on each read: with 64 workers that is 64 trials, their parameters, values and
attributes through the ORM, several times per trial of every worker, under one lock. Here:

- **shared reads**: a call that waited through a read begun after it arrived uses that read;
- **state checks**: between full reloads (at most `FULL_READ_EVERY_S` apart), a two-column query
  says which trials are new or changed state, and only those are loaded in full.

So a trial's state (and with it the counts, targets, surplus checks and retries that depend on
it) is always as current as on the database; the intermediate values and attributes of another
worker's *running* trial may be up to `FULL_READ_EVERY_S` old, as on a dashboard.
"""

from __future__ import annotations

import threading
import time

from optuna.storages._cached_storage import _CachedStorage
from optuna.storages._grpc.auto_generated import api_pb2
from optuna.storages._grpc.servicer import _to_proto_trial
from optuna.trial import FrozenTrial

from storage.engine import ResilientRDBStorage

#: The longest a running trial's values and attributes go without a full reload.
FULL_READ_EVERY_S = 1.0


class TrialReads:
    """Brings the cache's view of a study up to the moment a call arrived, and turns trials
    into gRPC messages once per version rather than once per call."""

    def __init__(self, cache: _CachedStorage, database: ResilientRDBStorage) -> None:
        self.cache = cache
        self.database = database
        self._lock = threading.Lock()
        self._fresh_as_of: dict[int, int] = {}  # study id -> start (ns) of its newest read
        self._full_read_at: dict[int, int] = {}  # study id -> start (ns) of its newest full read
        self._protos: dict[int, tuple[FrozenTrial, api_pb2.Trial]] = {}  # by trial id

    def refresh(self, study_id: int, *, arrived: int) -> None:
        """Make the cache hold every write to the study made before `arrived` (monotonic ns).

        A read begun after `arrived` sees all of them, so a call that queued behind one uses it
        instead of making its own. Raises KeyError for a study that does not exist.
        """
        with self._lock:
            if self._fresh_as_of.get(study_id, -1) > arrived:
                return
            began = time.monotonic_ns()
            recent = began - self._full_read_at.get(study_id, -(2**62)) < FULL_READ_EVERY_S * 1e9
            if not (recent and self._read_changes(study_id)):
                self.cache._read_trials_from_remote_storage(study_id)
                self._full_read_at[study_id] = began
            self._fresh_as_of[study_id] = began

    def _read_changes(self, study_id: int) -> bool:
        """Load in full only the trials that are new or changed state since the cache last saw
        them; False when the cache does not know the study yet (a full read is needed)."""
        cache = self.cache
        with cache._lock:
            study = cache._studies.get(study_id)
            if study is None:
                return False
            states = self.database.trial_states(
                study_id, study.unfinished_trial_ids, study.last_finished_trial_id
            )
            located = cache._trial_id_to_study_id_and_number
            changed = {
                trial_id
                for trial_id, state in states.items()
                if trial_id not in located or study.trials[located[trial_id][1]].state != state
            }
            if not changed:
                return True
            # Also loads any trial newer than the newest changed one (created since the check).
            trials = self.database._get_trials(study_id, None, changed, max(changed))
            cache._add_trials_to_cache(study_id, trials)
            for trial in trials:  # the bookkeeping of Optuna's own read
                if not trial.state.is_finished():
                    study.unfinished_trial_ids.add(trial._trial_id)
                    continue
                study.last_finished_trial_id = max(study.last_finished_trial_id, trial._trial_id)
                study.unfinished_trial_ids.discard(trial._trial_id)
        return True

    def proto(self, trial: FrozenTrial) -> api_pb2.Trial:
        """The trial as a gRPC message, built again only when the cache holds a newer version."""
        kept = self._protos.get(trial._trial_id)
        if kept is not None and kept[0] is trial:
            return kept[1]
        message = _to_proto_trial(trial)
        self._protos[trial._trial_id] = (trial, message)
        return message
