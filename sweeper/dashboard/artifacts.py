"""Upload a trial's health series to the study's artifact store, for optuna-dashboard to show.

Each trial gets two artifacts: `trial-N-health.svg` (its curves) and `trial-N-health.csv` (the
per-epoch table, which the dashboard opens as a table); `sweeper.dashboard.annotations` later
puts the curves in the trial's dashboard note, under why it was pruned. The store is a
directory: the study file's `artifacts` field, else `artifacts/` next to a SQLite file, else a
per-user directory named after the PostgreSQL database. A relative `artifacts` path is relative
to the current directory of each worker and of `sweeper dashboard`.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import tempfile
from pathlib import Path

import optuna
from optuna.artifacts import FileSystemArtifactStore, upload_artifact

from storage.urls import parse_storage_url, sqlite_path
from sweeper.dashboard.health_svg import health_svg
from sweeper.errors import SweeperError
from sweeper.health.series import HealthSeries, to_json_value
from sweeper.trial_attrs import PRUNE_REASON_ATTR

log = logging.getLogger("sweeper.artifacts")
DEFAULT_DIR_NAME = "artifacts"
HEALTH_SUFFIX = "-health"  # trial-N-health.svg / .csv


def artifact_dir(storage_url: str | None, configured: str | None = None) -> Path:
    """A study's artifact directory: `configured`, else beside the SQLite file, else a per-user
    directory named after the database (so a dashboard started anywhere on this machine finds
    it): `$XDG_DATA_HOME/gnn-sweeper/artifacts/HOST-PORT-DB`."""
    if configured:
        return Path(configured).expanduser()
    if not storage_url:
        return Path(DEFAULT_DIR_NAME)
    path = sqlite_path(storage_url)
    if path is not None:
        return path.parent / DEFAULT_DIR_NAME
    parsed = parse_storage_url(storage_url)
    if parsed.get_backend_name() == "sqlite":  # in-memory: nothing to sit next to
        return Path(DEFAULT_DIR_NAME)
    name = f"{parsed.host or 'localhost'}-{parsed.port or 5432}-{parsed.database}"
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home / "gnn-sweeper" / DEFAULT_DIR_NAME / re.sub(r"[^A-Za-z0-9._-]", "_", name)


def open_artifact_store(directory: Path) -> FileSystemArtifactStore:
    """A file-system artifact store in `directory`, created when missing."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SweeperError(f"artifacts: cannot create {directory}: {error.strerror}") from None
    return FileSystemArtifactStore(str(directory))


def series_csv(series: HealthSeries) -> str:
    """The series as CSV: one row per epoch, one column per signal (nan/inf written as text)."""
    names = series.names()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["epoch", *names])
    columns = [series.values(name) for name in names]
    for row, epoch in enumerate(series.epochs):
        cells = [to_json_value(column[row]) for column in columns]
        writer.writerow([epoch, *("" if cell is None else cell for cell in cells)])
    return buffer.getvalue()


def storage_url_of(trial: optuna.Trial) -> str | None:
    """The URL of the RDB storage behind a trial (Optuna wraps it in a cache layer)."""
    storage = trial.storage
    backend = getattr(storage, "_backend", storage)
    url = getattr(backend, "url", None)
    return url if isinstance(url, str) else None


def upload_health(trial: optuna.Trial, series: HealthSeries, directory: Path) -> list[str]:
    """Upload the series' SVG curves and CSV table to the store in `directory`; artifact ids."""
    if not series.epochs:
        return []
    reason = trial.user_attrs.get(PRUNE_REASON_ATTR)
    title = f"trial {trial.number}: health per epoch" + (f" (pruned: {reason})" if reason else "")
    store = open_artifact_store(directory)
    stem = f"trial-{trial.number}{HEALTH_SUFFIX}"
    ids: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sweeper-artifacts-") as scratch:
        for suffix, text in ((".svg", health_svg(series, title)), (".csv", series_csv(series))):
            path = Path(scratch) / f"{stem}{suffix}"
            path.write_text(text, encoding="utf-8")
            ids.append(
                upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=trial)
            )
    return ids


def upload_trial_health(trial: optuna.Trial, series: HealthSeries, configured: str | None) -> None:
    """The worker's end-of-trial hook: upload the health series, logging (never raising) on
    failure, so a full disk or an unwritable directory never fails a trial."""
    try:
        upload_health(trial, series, artifact_dir(storage_url_of(trial), configured))
    except Exception as error:  # an artifact is never worth a failed trial
        log.warning(
            "warning: trial %d: health artifacts not uploaded (%s: %s)",
            trial.number,
            type(error).__name__,
            error,
        )
