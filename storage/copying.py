"""Copy a study between storages (laptop SQLite to the cluster's PostgreSQL) and check it."""

from __future__ import annotations

import optuna

from storage.engine import open_storage
from storage.errors import StorageError
from storage.urls import redact_url


def _state_counts(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def copy_study_checked(name: str, from_url: str, to_url: str) -> int:
    """Copy study `name` with `optuna.copy_study`, refuse to overwrite, verify the trial counts.

    Returns the number of trials copied. A copy that fails or does not match is deleted again,
    so the destination never keeps half a study.
    """
    source = open_storage(from_url, must_exist=True)
    if name not in optuna.get_all_study_names(source):
        raise StorageError(f"study '{name}' does not exist in {redact_url(from_url)}")
    destination = open_storage(to_url)
    if name in optuna.get_all_study_names(destination):
        raise StorageError(
            f"study '{name}' already exists in {redact_url(to_url)}; not overwriting"
        )
    try:
        optuna.copy_study(
            from_study_name=name, from_storage=source, to_storage=destination, to_study_name=name
        )
        copied = optuna.load_study(study_name=name, storage=destination)
        original = optuna.load_study(study_name=name, storage=source)
        if _state_counts(copied) != _state_counts(original):
            raise StorageError(
                f"copy of '{name}' has trial counts {_state_counts(copied)}, "
                f"expected {_state_counts(original)}; removed the copy"
            )
    except BaseException:
        if name in optuna.get_all_study_names(destination):
            optuna.delete_study(study_name=name, storage=destination)
        raise
    return len(copied.trials)
