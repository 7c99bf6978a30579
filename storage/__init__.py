"""Storage URLs, engines with heartbeat, redaction of passwords, and copying studies."""

from typing import Any

from storage.errors import StorageError, StorageFault
from storage.urls import redact_text, redact_url, resolve_storage_url

__all__ = [
    "StorageError",
    "StorageFault",
    "open_storage",
    "redact_text",
    "redact_url",
    "resolve_storage_url",
]


def __getattr__(name: str) -> Any:
    # `storage.engine` imports Optuna's storage; only a command that opens one pays for it.
    if name == "open_storage":
        from storage.engine import open_storage

        return open_storage
    raise AttributeError(f"module 'storage' has no attribute {name!r}")
