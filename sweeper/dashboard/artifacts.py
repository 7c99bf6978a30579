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
import tempfile
from pathlib import Path

import optuna
from optuna.artifacts import upload_artifact

from sweeper.artifact_location import (
    artifact_dir,
    open_artifact_store,
    storage_url_of,
)
from sweeper.dashboard.health_svg import health_svg
from sweeper.health.series import HealthSeries, to_json_value
from sweeper.trial_attrs import PRUNE_REASON_ATTR

log = logging.getLogger("sweeper.artifacts")
HEALTH_SUFFIX = "-health"  # trial-N-health.svg / .csv


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
