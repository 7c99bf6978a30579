"""Where a study's artifacts live: the directory of its file-system artifact store (health
curves for the dashboard, trial checkpoints), found the same way by workers, `sweeper dashboard`
and any machine that shares the storage.

The study file's `artifacts` field wins; else `artifacts/` next to a SQLite file; else a per-user
directory named after the PostgreSQL database. A relative `artifacts` path is relative to the
current directory of each worker and of `sweeper dashboard`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import optuna
from optuna.artifacts import FileSystemArtifactStore

from storage.urls import parse_storage_url, sqlite_path
from sweeper.errors import SweeperError

__all__ = ["DEFAULT_DIR_NAME", "artifact_dir", "open_artifact_store", "storage_url_of"]

DEFAULT_DIR_NAME = "artifacts"


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


def storage_url_of(trial: optuna.Trial) -> str | None:
    """The URL of the RDB storage behind a trial (Optuna wraps it in a cache layer)."""
    storage = trial.storage
    backend = getattr(storage, "_backend", storage)
    url = getattr(backend, "url", None)
    return url if isinstance(url, str) else None
