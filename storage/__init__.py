"""Storage URLs, engines with heartbeat, redaction of passwords, and copying studies."""

from storage.engine import open_storage
from storage.urls import redact_text, redact_url, resolve_storage_url

__all__ = ["open_storage", "redact_text", "redact_url", "resolve_storage_url"]
