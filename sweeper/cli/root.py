"""The root command's own options (`--version`) and how `--help` shows flags."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer
import typer.core

from sweeper.exit_codes import ExitCode


def version_line() -> str:
    """`gnn-sweeper 0.1.0 (optuna 5.0.0, Python 3.11.7)`."""
    from sweeper import __version__

    try:
        optuna_version = version("optuna")
    except PackageNotFoundError:  # pragma: no cover - optuna is a dependency
        optuna_version = "?"
    python = platform.python_version()
    return f"gnn-sweeper {__version__} (optuna {optuna_version}, Python {python})"


def _print_version(value: bool) -> None:
    if value:
        print(version_line())
        raise typer.Exit(ExitCode.OK)


def root_callback(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Options of `sweeper` itself, before a command."""


def _hide_flag_types() -> None:
    """A flag takes no value, so `--help` shows no type for it (typer prints `<bool>`)."""
    shown = typer.core.TyperOption.display_type_rich
    if getattr(shown, "hides_flags", False):
        return

    def display_type_rich(self: typer.core.TyperOption, ctx: typer.Context) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    display_type_rich.hides_flags = True  # type: ignore[attr-defined]
    # A patched method, and typer's own takes its vendored click's Context (not public).
    typer.core.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign, assignment]


def register(app: typer.Typer) -> None:
    """Mount `--version` on the root and tidy how flags read in `--help`."""
    app.callback()(root_callback)
    _hide_flag_types()
