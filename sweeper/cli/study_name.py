"""The study a command is about: `sweeper status NAME` or `sweeper status --study NAME`."""

from __future__ import annotations

from typing import Annotated

import typer

from sweeper.errors import SweeperError

StudyArgument = Annotated[
    str | None,
    typer.Argument(metavar="STUDY", help="Study name (or --study NAME).", show_default=False),
]
StudyFlag = Annotated[str | None, typer.Option("--study", help="Study name.")]


def study_name(positional: str | None, flag: str | None, *, command: str) -> str | None:
    """The study named either way (None when neither); naming two different ones is an error."""
    if positional is not None and flag is not None and positional != flag:
        raise SweeperError(
            f"{command}: two studies named ('{positional}' and --study '{flag}'); give one"
        )
    return positional if positional is not None else flag


def required_study_name(positional: str | None, flag: str | None, *, command: str) -> str:
    """The study named either way; one of them is required."""
    name = study_name(positional, flag, command=command)
    if name is None:
        raise SweeperError(f"{command}: which study? sweeper {command} NAME (or --study NAME)")
    return name
