"""Where a study lives: resolve the storage URL, check it, and never show its password."""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from storage.errors import StorageError

ENV_VAR = "SWEEPER_STORAGE"
DEFAULT_URL = "sqlite:///sweeps.db"
_SUPPORTED = ("sqlite", "postgresql", "grpc")
#: `sweeper proxy`'s default port, and the one a grpc:// URL without a port means.
GRPC_DEFAULT_PORT = 13000
# user:password@ inside any URL-looking text, for scrubbing messages we did not write.
_PASSWORD_IN_TEXT = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):(?P<pw>[^@\s]*)@")


def resolve_storage_url(flag: str | None) -> str:
    """`--storage`, else $SWEEPER_STORAGE, else the embedded default `sqlite:///sweeps.db`."""
    return flag or os.environ.get(ENV_VAR) or DEFAULT_URL


def parse_storage_url(url: str) -> URL:
    """Parse and check a storage URL, returning it with the driver this project uses."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StorageError(f"storage: malformed URL '{redact_url(url)}'") from None
    backend = parsed.get_backend_name()
    if backend not in _SUPPORTED:
        raise StorageError(
            f"storage: unsupported database '{backend}' in '{redact_url(url)}' "
            "(use sqlite:///FILE, postgresql://USER@HOST/DB or grpc://HOST:PORT)"
        )
    if backend == "grpc":
        if not parsed.host or parsed.database or parsed.username:
            raise StorageError(
                f"storage: a gRPC proxy URL is grpc://HOST:PORT, not '{redact_url(url)}'"
            )
        return parsed.set(port=parsed.port or GRPC_DEFAULT_PORT)
    if backend == "postgresql":
        if parsed.get_driver_name() not in ("psycopg", "psycopg2") or "+" not in parsed.drivername:
            parsed = parsed.set(drivername="postgresql+psycopg")
        if not parsed.database:
            raise StorageError(f"storage: no database name in '{redact_url(url)}'")
    if backend == "sqlite" and not parsed.database:
        raise StorageError(f"storage: no database file in '{redact_url(url)}'")
    return parsed


def is_grpc_url(url: str) -> bool:
    """Whether the URL names a gRPC storage proxy (`sweeper proxy`) rather than a database."""
    return url.split("://", 1)[0].lower() == "grpc"


def grpc_address(url: str) -> tuple[str, int]:
    """The proxy's host and port in a grpc://HOST[:PORT] URL (port 13000 when left out)."""
    parsed = parse_storage_url(url)
    return str(parsed.host), int(parsed.port or GRPC_DEFAULT_PORT)


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = parse_storage_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***` (safe to print, log or store)."""
    return _PASSWORD_IN_TEXT.sub(lambda m: f"{m.group('head')}:***@", url)


def redact_text(text: str, url: str | None = None) -> str:
    """Scrub passwords from free text (driver error messages), including the given URL's."""
    text = _PASSWORD_IN_TEXT.sub(lambda m: f"{m.group('head')}:***@", text)
    if url:
        try:
            password = make_url(url).password
        except (ArgumentError, ValueError):
            password = None
        if password:
            text = text.replace(str(password), "***")
    return text


def storage_flag(url: str) -> str:
    """` --storage URL` (redacted) for a command line to print, or "" when a command run here
    would find the same storage without it ($SWEEPER_STORAGE or the default)."""
    if url == resolve_storage_url(None):
        return ""
    return f" --storage {redact_url(url)}"
