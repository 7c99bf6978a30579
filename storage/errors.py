"""The storage layer's own errors, which the CLI turns into one stderr line.

`StorageError` is bad input about where a study lives (a malformed URL, a missing database
file, a study that is not there to copy): the CLI's exit code 2. `StorageFault` is a storage
that is unreachable or cannot take writes: exit code 3, worth a retry once it is back.
"""

from __future__ import annotations

__all__ = ["StorageError", "StorageFault"]


class StorageError(Exception):
    """A user-facing storage problem (bad URL, missing database file); never a bug."""


class StorageFault(StorageError):
    """The storage is unreachable (at start, or away past its bound) or cannot take a write
    (full disk, read-only file); every command stops with one line (the CLI's exit code 3)."""
