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
from typing import Any

import optuna
from optuna.artifacts import FileSystemArtifactStore

from storage.urls import parse_storage_url, sqlite_path
from sweeper.errors import SweeperError

__all__ = [
    "DEFAULT_DIR_NAME",
    "PrefixedStore",
    "artifact_dir",
    "is_store_url",
    "open_artifact_store",
    "open_checkpoint_store",
    "storage_url_of",
]

DEFAULT_DIR_NAME = "artifacts"


def artifact_dir(storage_url: str | None, configured: str | None = None) -> Path:
    """A study's artifact directory: `configured`, else beside the SQLite file, else a per-user
    directory named after the database (so a dashboard started anywhere on this machine finds
    it): `$XDG_DATA_HOME/gnn-sweeper/artifacts/HOST-PORT-DB`. An `s3://` store holds the
    checkpoints only; the health files then stay in the local default."""
    if is_store_url(configured):
        configured = None
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
    database = "proxy" if parsed.get_backend_name() == "grpc" else parsed.database
    name = f"{parsed.host or 'localhost'}-{parsed.port or 5432}-{database}"
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


def is_store_url(configured: str | None) -> bool:
    """Whether the study file's `artifacts` names an object store (`s3://bucket/prefix`)."""
    return bool(configured) and str(configured).startswith("s3://")


class PrefixedStore:
    """An artifact store whose ids all live under one prefix (a folder of an S3 bucket)."""

    def __init__(self, store: Any, prefix: str, where: str = "") -> None:
        self.store = store
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        #: How messages name the store (`s3://bucket/prefix`).
        self.where = where

    def open_reader(self, artifact_id: str) -> Any:
        """Read one artifact."""
        return self.store.open_reader(self.prefix + artifact_id)

    def write(self, artifact_id: str, content_body: Any) -> None:
        """Write one artifact."""
        self.store.write(self.prefix + artifact_id, content_body)

    def remove(self, artifact_id: str) -> None:
        """Remove one artifact."""
        self.store.remove(self.prefix + artifact_id)


def open_checkpoint_store(storage_url: str | None, configured: str | None) -> Any:
    """The store trial checkpoints go to: Optuna's `Boto3ArtifactStore` for `s3://bucket/prefix`
    (credentials and endpoint from boto3's usual environment, e.g. `AWS_ENDPOINT_URL` for an
    S3-compatible server), else the study's artifact directory."""
    if not is_store_url(configured):
        return open_artifact_store(artifact_dir(storage_url, configured))
    bucket, _, prefix = str(configured)[len("s3://") :].partition("/")
    if not bucket:
        raise SweeperError(f"artifacts: {configured} names no bucket (s3://BUCKET/PREFIX)")
    try:
        from optuna.artifacts import Boto3ArtifactStore
    except ImportError:  # boto3 is optional
        raise SweeperError("artifacts: s3:// needs boto3 (pip install 'gnn-sweeper[s3]')") from None
    return PrefixedStore(Boto3ArtifactStore(bucket), prefix, where=str(configured))
