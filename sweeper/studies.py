"""Study lifecycle: create a study from its file, reopen it from the storage alone, count trials.

The validated study file and the target number of finished trials live inside the study (user
attributes `sweeper.config` and `sweeper.target`), so a worker anywhere needs only the storage URL
and the study name.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import optuna
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import TrialState

from storage.engine import open_storage
from sweeper.config import StudyConfig, first_difference, parse_config
from sweeper.errors import SweeperError, did_you_mean
from sweeper.optuna_log import apply_optuna_level
from sweeper.pruners.factory import build_pruner
from sweeper.samplers import build_sampler
from sweeper.study_attrs import CONFIG_ATTR, TARGET_ATTR

if TYPE_CHECKING:
    from storage.engine import SweeperStorage
from sweeper.trial_attrs import (
    BASE_PRUNER_RULE,
    PARAM_OVERRIDES_ATTR,
    PRUNE_REASON_ATTR,
    TRIAL_NAME_ATTR,
    parse_prune_reason,
)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
STATE_NAMES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")

optuna.logging.set_verbosity(optuna.logging.WARNING)
apply_optuna_level()  # the CLI's choice, made before Optuna was loaded


def study_exists(storage: BaseStorage, name: str) -> bool:
    """Whether a study of this name is in the storage."""
    try:
        storage.get_study_id_from_name(name)
    except KeyError:
        return False
    return True


def create_or_continue(storage: BaseStorage, config: StudyConfig) -> optuna.Study:
    """Create the study from its file, or continue it when it exists with the same file.

    A different file is refused with the first differing field; only the budget (`n_trials`,
    `timeout`, `failures`) may change; a new `n_trials` becomes the study's target and a new
    failure budget is stored for every worker.
    """
    if study_exists(storage, config.study):
        _wait_for_stored_config(storage, config.study)
        study, stored = load_study(storage, config.study)
        difference = first_difference(stored.stored(), config.stored())
        if difference is not None:
            raise SweeperError(
                f"study '{config.study}' exists with a different study file: '{difference}' "
                "differs (use the same file, or another --study name)"
            )
        if study.user_attrs.get(TARGET_ATTR) != config.n_trials:
            study.set_user_attr(TARGET_ATTR, config.n_trials)
        if stored.failures != config.failures:
            failures = config.failures.model_dump(mode="json")
            study.set_user_attr(CONFIG_ATTR, {**stored.stored(), "failures": failures})
        return study
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=config.study,
            direction=config.direction,
            sampler=build_sampler(config),
            pruner=build_pruner(config.pruner),
        )
    except optuna.exceptions.DuplicatedStudyError:  # another launch created it just now
        _wait_for_stored_config(storage, config.study)
        return create_or_continue(storage, config)
    study.set_metric_names([config.metric])
    study.set_user_attr(CONFIG_ATTR, config.stored())
    study.set_user_attr(TARGET_ATTR, config.n_trials)
    enqueue_trials(study, config, config.enqueue)  # at creation only: never queued twice
    return study


def _wait_for_stored_config(storage: BaseStorage, name: str, timeout_s: float = 30.0) -> None:
    """A study another process created a moment ago gets its study file an instant later."""
    study_id = storage.get_study_id_from_name(name)
    end = time.monotonic() + timeout_s
    while CONFIG_ATTR not in storage.get_study_user_attrs(study_id) and time.monotonic() < end:
        time.sleep(0.1)


def enqueue_trials(study: optuna.Study, config: StudyConfig, sets: list[dict[str, Any]]) -> None:
    """Queue parameter sets to run first; overrides of fixed params travel with the trial."""
    for values in sets:
        params = {k: v for k, v in values.items() if k in config.space}
        overrides = {k: v for k, v in values.items() if k in config.params}
        user_attrs: dict[str, Any] = {PARAM_OVERRIDES_ATTR: overrides} if overrides else {}
        if TRIAL_NAME_ATTR in values and TRIAL_NAME_ATTR not in config.space:
            user_attrs[TRIAL_NAME_ATTR] = values[TRIAL_NAME_ATTR]
        study.enqueue_trial(params, user_attrs=user_attrs or None)


def missing_study(storage: BaseStorage, name: str) -> str:
    """`study 'x' does not exist in sqlite:///sweeps.db (did you mean 'y'?)`: where we looked
    (password redacted) and the closest name there."""
    where = getattr(storage, "shown_url", None) or "this storage"
    known = [summary.study_name for summary in storage.get_all_studies()]
    return f"study '{name}' does not exist in {where}{did_you_mean(name, known)}"


def stored_config(storage: BaseStorage, name: str) -> StudyConfig:
    """The study file kept inside a study created by this service."""
    if not study_exists(storage, name):
        raise SweeperError(missing_study(storage, name))
    study_id = storage.get_study_id_from_name(name)
    attrs = storage.get_study_user_attrs(study_id)
    if CONFIG_ATTR not in attrs:
        raise SweeperError(f"study '{name}' was not created by sweeper (no stored study file)")
    return parse_config(attrs[CONFIG_ATTR])


def load_study(storage: BaseStorage, name: str) -> tuple[optuna.Study, StudyConfig]:
    """Reopen a study with the sampler and pruner of its stored file (a seeded sampler draws
    each trial from a stream of its own, whichever process runs it: see `sweeper.samplers`)."""
    config = stored_config(storage, name)
    return _load(storage, name, config), config


def _load(storage: BaseStorage, name: str, config: StudyConfig) -> optuna.Study:
    return optuna.load_study(
        study_name=name,
        storage=storage,
        sampler=build_sampler(config),
        pruner=build_pruner(config.pruner),
    )


def open_study(url: str, name: str) -> tuple[SweeperStorage, optuna.Study, StudyConfig]:
    """Open the storage at `url` (it must exist) and the study `name` in it, to run its trials:
    the sampler, pruner, heartbeat and outage bound of the study's stored file.

    One engine: the stored file is read through the storage that is returned, which then takes
    the file's heartbeat settings; when the study cannot be opened, the engine is disposed."""
    storage = open_storage(url, must_exist=True)
    try:
        config = stored_config(storage, name)
        use_study_heartbeat(storage, config)
        return storage, _load(storage, name, config), config
    except BaseException:
        storage.dispose()
        raise


def use_study_heartbeat(storage: SweeperStorage, config: StudyConfig) -> None:
    """Give the storage the study file's heartbeat settings and storage-outage bound."""
    heartbeat = config.heartbeat
    storage.set_heartbeat(
        heartbeat.interval, grace_period=heartbeat.grace_period, max_retry=heartbeat.max_retry
    )
    storage.outage_s = heartbeat.storage_outage


def target_of(study: optuna.Study, attrs: Mapping[str, Any] | None = None) -> int:
    """How many finished (COMPLETE or PRUNED) trials the study should reach; `attrs` are its
    user attributes when the caller has just read them (each read is a storage round trip)."""
    return int((study.user_attrs if attrs is None else attrs).get(TARGET_ATTR, 0))


def set_target(study: optuna.Study, target: int) -> None:
    """Make `target` finished trials the study's goal (workers anywhere read it each trial)."""
    study.set_user_attr(TARGET_ATTR, target)


def trials_in_flight(study: optuna.Study) -> int:
    """RUNNING trials whose worker still beats (another launch or worker is running them)."""
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    storage = study._storage
    if not running or not isinstance(storage, RDBStorage) or storage.heartbeat_interval is None:
        return len(running)
    stale = set(storage._get_stale_trial_ids(study._study_id))
    return sum(t._trial_id not in stale for t in running)


def count_states(trials: list[optuna.trial.FrozenTrial]) -> dict[str, int]:
    """Trials per state, with every state the CLI reports present (zero when absent)."""
    counted = Counter(trial.state.name for trial in trials)
    return {name: counted.get(name, 0) for name in STATE_NAMES}


def finished_count(study: optuna.Study) -> int:
    """COMPLETE plus PRUNED trials: what counts toward the target."""
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The best COMPLETE trial, or None when no trial has completed."""
    try:
        return study.best_trial
    except ValueError:
        return None


def prune_reasons(trials: list[optuna.trial.FrozenTrial]) -> dict[str, int]:
    """How many trials each rule pruned (the rule is the text before the first colon)."""
    tally: Counter[str] = Counter()
    for trial in trials:
        if trial.state == TrialState.PRUNED:
            reason = str(trial.user_attrs.get(PRUNE_REASON_ATTR, BASE_PRUNER_RULE))
            tally[parse_prune_reason(reason)[0]] += 1
    return dict(tally.most_common())


def json_safe(value: Any) -> Any:
    """Floats that JSON cannot carry (NaN, inf) become strings."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    return value
