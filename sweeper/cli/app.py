"""The `sweeper` command: mounts one module per command group and turns errors into one line.

A user error (SweeperError, or a usage error from typer/click) is one line on stderr and exit
code 2. Anything else is a bug: exit 1 with a short message, never a dump of local variables
(which could hold a database password).
"""

from __future__ import annotations

import sys

import typer

from storage.urls import redact_text
from sweeper.cli import browse, inspect, manage, run
from sweeper.cli.output import stderr
from sweeper.errors import SweeperError

app = typer.Typer(
    name="sweeper",
    help="Hyperparameter sweeps for graph neural networks that prune sick trials early.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
run.register(app)
inspect.register(app)
manage.register(app)
browse.register(app)


def _one_line(text: str) -> str:
    return " ".join(redact_text(text).split())


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit 2 with one stderr line on bad input."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="sweeper", standalone_mode=False)
    except SweeperError as error:
        stderr.print(f"error: {_one_line(str(error))}", markup=False)
        sys.exit(2)
    except typer.TyperException as error:  # click's usage errors, vendored by typer
        context = getattr(error, "ctx", None)
        if type(error).__name__ == "NoArgsIsHelpError" and context is not None:
            print(context.get_help())
            sys.exit(0)
        where = f"{context.command_path}: " if context is not None else ""
        stderr.print(f"error: {where}{_one_line(error.format_message())}", markup=False)
        sys.exit(2)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # a bug: say what, without locals
        stderr.print(
            f"internal error: {type(error).__name__}: {_one_line(str(error))}", markup=False
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
