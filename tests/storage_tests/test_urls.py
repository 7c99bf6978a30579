"""Storage URLs: where a study lives, and that no password is ever shown."""

from __future__ import annotations

import pytest

from storage.errors import StorageError
from storage.urls import parse_storage_url, redact_text, redact_url, resolve_storage_url


def test_flag_wins_over_environment_which_wins_over_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SWEEPER_STORAGE", raising=False)
    assert resolve_storage_url(None) == "sqlite:///sweeps.db"
    monkeypatch.setenv("SWEEPER_STORAGE", "postgresql://u@h/db")
    assert resolve_storage_url(None) == "postgresql://u@h/db"
    assert resolve_storage_url("sqlite:///other.db") == "sqlite:///other.db"


def test_passwords_are_redacted_in_urls_and_in_driver_messages() -> None:
    assert (
        redact_url("postgresql://user:s3cret@host:5432/db") == "postgresql://user:***@host:5432/db"
    )
    assert redact_url("sqlite:///sweeps.db") == "sqlite:///sweeps.db"
    message = 'connection to "postgresql+psycopg://user:s3cret@host/db" failed; password s3cret'
    scrubbed = redact_text(message, "postgresql://user:s3cret@host/db")
    assert "s3cret" not in scrubbed


def test_postgres_urls_use_psycopg_3() -> None:
    assert parse_storage_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


@pytest.mark.parametrize("url", ["nonsense", "mysql://u@h/db", "postgresql://u@h", "sqlite://"])
def test_unusable_urls_are_refused(url: str) -> None:
    with pytest.raises(StorageError):
        parse_storage_url(url)
