"""The one error type the CLI turns into a single stderr line and exit code 2."""

from __future__ import annotations


class SweeperError(Exception):
    """A user-facing problem (bad study file, bad URL, unreachable database); never a bug."""
