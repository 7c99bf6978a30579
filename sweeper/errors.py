"""The error types the CLI turns into a single stderr line: bad input (exit code 2) and a study
whose failure budget is spent (exit code 4). Storage faults (exit code 3) are the storage
layer's own `storage.engine.StorageFault`."""

from __future__ import annotations


class SweeperError(Exception):
    """A user-facing problem (bad study file, bad URL, missing dataset); never a bug."""


class StudyStopped(SweeperError):
    """The study's failure budget is spent: its workers take no more trials until a resume."""
