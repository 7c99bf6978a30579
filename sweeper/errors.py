"""The error types the CLI turns into a single stderr line: bad input (exit code 2) and a study
whose failure budget is spent (exit code 4). Storage problems are the storage layer's own
`storage.errors.StorageError` (exit code 2) and `StorageFault` (exit code 3)."""

from __future__ import annotations


class SweeperError(Exception):
    """A user-facing problem (bad study file, bad URL, missing dataset); never a bug."""


class StudyStopped(SweeperError):
    """The study's failure budget is spent: its workers take no more trials until a resume."""


def did_you_mean(name: str, known: list[str] | tuple[str, ...] | set[str]) -> str:
    """` (did you mean 'quickstart'?)` for the closest known name, or "" when none is close."""
    import difflib

    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
