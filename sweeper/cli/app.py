"""The `sweeper` command: mounts one module per command group and turns errors into one line.

Our own errors are one line on stderr with the exit code of their kind (`sweeper.exit_codes`):
a storage that is unreachable or cannot take writes exits 3, a study whose failure budget is
spent exits 4, any other user error (SweeperError, StorageError, or a usage error from
typer/click) exits 2.
Anything else is a bug: exit 1 with a short message, never a dump of local variables (which
could hold a database password).
"""

from __future__ import annotations

import sys

import typer

from storage.errors import StorageError, StorageFault
from storage.urls import redact_text
from sweeper.cli import browse, doctor, inspect, logs, manage, proxy, root, run, trial
from sweeper.cli.output import stderr
from sweeper.errors import StudyStopped, SweeperError
from sweeper.exit_codes import ExitCode

app = typer.Typer(
    name="sweeper",
    help="Hyperparameter sweeps for graph neural networks that prune sick trials early.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
root.register(app)
run.register(app)
inspect.register(app)
doctor.register(app)
trial.register(app)
manage.register(app)
browse.register(app)
proxy.register(app)


def _one_line(text: str) -> str:
    return " ".join(redact_text(text).split())


def exit_code_of(error: SweeperError | StorageError) -> ExitCode:
    """The exit code of one of our own errors: its kind, never its message."""
    if isinstance(error, StorageFault):
        return ExitCode.STORAGE
    if isinstance(error, StudyStopped):
        return ExitCode.FAILURE_BUDGET
    return ExitCode.BAD_INPUT


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; our own errors are one stderr line and the exit code of their kind."""
    command = typer.main.get_command(app)
    logs.configure(verbose=False)  # the commands that run trials take --verbose
    try:
        code = command.main(args=argv, prog_name="sweeper", standalone_mode=False)
    except (SweeperError, StorageError) as error:
        stderr.print(f"error: {_one_line(str(error))}", markup=False)
        sys.exit(exit_code_of(error))
    except typer.TyperException as error:  # click's usage errors, vendored by typer
        context = getattr(error, "ctx", None)
        if type(error).__name__ == "NoArgsIsHelpError" and context is not None:
            print(context.get_help())
            sys.exit(ExitCode.OK)
        where = f"{context.command_path}: " if context is not None else ""
        stderr.print(f"error: {where}{_one_line(error.format_message())}", markup=False)
        sys.exit(ExitCode.BAD_INPUT)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(ExitCode.SIGINT)
    except Exception as error:  # a bug: say what, without locals
        stderr.print(
            f"internal error: {type(error).__name__}: {_one_line(str(error))}", markup=False
        )
        sys.exit(ExitCode.BUG)
    sys.exit(code if isinstance(code, int) else ExitCode.OK)
