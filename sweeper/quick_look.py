"""What `sweeper launch` can tell without loading Optuna, torch or a worker: the study file with
its flags applied, and whether the study already has its target.

A light module on purpose (pydantic, PyYAML and SQLAlchemy's core only): `launch` on a finished
study prints `nothing to do` from here, in about the time Python takes to start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage.peek import peek_study
from sweeper.config import StudyConfig, first_difference, load_config, parse_config
from sweeper.study_attrs import CONFIG_ATTR


def launch_config(
    study_file: Path, *, study_name: str | None, n_trials: int | None, timeout: float | None
) -> StudyConfig:
    """The study file, validated, with `--study`, `--n-trials` and `--timeout` applied."""
    config = load_config(study_file)
    overrides: dict[str, Any] = {}
    if study_name is not None:
        overrides["study"] = study_name
    if n_trials is not None:
        overrides["n_trials"] = n_trials
    if timeout is not None:
        overrides["timeout"] = timeout
    if overrides:
        config = parse_config({**config.stored(), **overrides})
    return config


def finished_already(storage_url: str, config: StudyConfig) -> int | None:
    """The finished trials of a study that exists with this very file and has reached its
    `n_trials`, read without writing (and without opening Optuna's storage); None when there is
    work to do, or no such study yet."""
    peek = peek_study(storage_url, config.study)
    if peek is None or CONFIG_ATTR not in peek.user_attrs:
        return None
    if first_difference(peek.user_attrs[CONFIG_ATTR], config.stored()) is not None:
        return None  # the launch refuses it, naming the field
    return peek.finished if peek.finished >= config.n_trials else None


def study_command(command: str, study: str, storage_flag: str) -> str:
    """A command line that works as printed: `sweeper report --study toy`, with `--storage`
    when the storage did not come from the environment or the default."""
    return f"sweeper {command} --study {study}{storage_flag}"


def nothing_to_do_line(finished: int, target: int, study: str, storage_flag: str = "") -> str:
    """A study that already has its target: say so, and how to run more."""
    more = study_command("resume", study, storage_flag)
    return f"nothing to do: {finished}/{target} finished; to run more: {more} --add-trials N"
