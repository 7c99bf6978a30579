"""`sweeper launch`, `sweeper worker` and `sweeper resume`: the commands that run trials."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from storage.urls import redact_url, resolve_storage_url, storage_flag
from sweeper.cli import logs
from sweeper.cli.options import StorageOption, StudyOption
from sweeper.cli.output import stdout
from sweeper.errors import StudyStopped, SweeperError
from sweeper.exit_codes import ExitCode

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

# The commands import Optuna, the launcher and the workers when they run, not when the CLI
# starts: `launch` on a finished study answers before any of them is loaded.

WorkersOption = Annotated[int, typer.Option("--workers", min=1, max=256, help="Worker processes.")]
DevicesOption = Annotated[
    str, typer.Option("--devices", help="cpu, cuda (every GPU) or a list like cuda:0,cuda:1.")
]
PerDeviceOption = Annotated[
    int, typer.Option("--trials-per-device", min=1, max=64, help="Workers sharing one GPU.")
]
ThreadsOption = Annotated[
    int | None,
    typer.Option(
        "--threads", min=1, help="torch CPU threads per worker (default: cores / workers)."
    ),
]
StudyFileArgument = Annotated[Path, typer.Argument(help="The study file (YAML).")]
StudyOverrideOption = Annotated[
    str | None, typer.Option("--study", help="Override the study name.")
]
TargetOption = Annotated[
    int | None, typer.Option("--n-trials", help="Finished trials to reach (the target).")
]
TimeoutOption = Annotated[
    float | None, typer.Option("--timeout", help="Stop starting trials after S seconds.")
]
EnqueueOption = Annotated[
    list[str] | None,
    typer.Option("--enqueue", help="JSON parameter set to run first (repeatable)."),
]
QuietOption = Annotated[
    bool,
    typer.Option("--quiet", help="One line per finished trial, no live view, even in a terminal."),
]
VerboseOption = Annotated[
    bool,
    typer.Option("--verbose", help="Also show Optuna's log, every warning and tracebacks."),
]


def launch_command(
    study_file: StudyFileArgument,
    storage: StorageOption = None,
    study: StudyOverrideOption = None,
    n_trials: TargetOption = None,
    timeout: TimeoutOption = None,
    workers: WorkersOption = 1,
    devices: DevicesOption = "cpu",
    trials_per_device: PerDeviceOption = 1,
    threads: ThreadsOption = None,
    enqueue: EnqueueOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Create a study from its file (or continue it) and run workers until its target."""
    _stop_if_finished(study_file, resolve_storage_url(storage), study, n_trials, timeout, enqueue)
    from sweeper.launching import RunOptions, launch, plan_launch

    logs.configure(verbose=verbose)
    plan = plan_launch(
        study_file,
        storage_url=resolve_storage_url(storage),
        study_name=study,
        n_trials=n_trials,
        timeout=timeout,
        enqueue=enqueue or [],
    )
    options = RunOptions(
        workers=workers,
        devices=devices,
        trials_per_device=trials_per_device,
        threads=threads,
        verbose=verbose,
        quiet=quiet,
    )
    raise typer.Exit(launch(plan, options, stdout))


def _stop_if_finished(
    study_file: Path,
    url: str,
    study: str | None,
    n_trials: int | None,
    timeout: float | None,
    enqueue: list[str] | None,
) -> None:
    """`nothing to do` and exit 0 when the study already has this file and its target."""
    from sweeper.quick_look import finished_already, launch_config, nothing_to_do_line

    if enqueue:
        return
    config = launch_config(study_file, study_name=study, n_trials=n_trials, timeout=timeout)
    finished = finished_already(url, config)
    if finished is not None:
        line = nothing_to_do_line(finished, config.n_trials, config.study, storage_flag(url))
        stdout.print(line, markup=False)
        raise typer.Exit(ExitCode.OK)


def create_command(
    study_file: StudyFileArgument,
    storage: StorageOption = None,
    study: StudyOverrideOption = None,
    n_trials: TargetOption = None,
    enqueue: EnqueueOption = None,
) -> None:
    """Create a study without running trials, for workers started elsewhere (`sweeper worker`)."""
    from sweeper.launching import create, plan_launch

    url = resolve_storage_url(storage)
    plan = plan_launch(
        study_file, storage_url=url, study_name=study, n_trials=n_trials, timeout=None,
        enqueue=enqueue or [],
    )  # fmt: skip
    created = create(plan)
    stdout.print(
        f"study {created.study_name} ready in {redact_url(url)} (target {plan.config.n_trials}); "
        f"join with: sweeper worker --study {created.study_name}"
    )


def resume_command(
    study: StudyOption,
    storage: StorageOption = None,
    workers: WorkersOption = 1,
    devices: DevicesOption = "cpu",
    trials_per_device: PerDeviceOption = 1,
    threads: ThreadsOption = None,
    timeout: TimeoutOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    n_trials: Annotated[
        int | None, typer.Option("--n-trials", min=1, help="A new target of finished trials.")
    ] = None,
    add_trials: Annotated[
        int | None, typer.Option("--add-trials", min=1, help="Raise the target by N trials.")
    ] = None,
) -> None:
    """Re-queue the trials of dead workers and continue the study to its target (a study its
    failure budget stopped continues with a fresh budget)."""
    from sweeper.launching import RunOptions, resume

    logs.configure(verbose=verbose)
    options = RunOptions(
        workers=workers,
        devices=devices,
        trials_per_device=trials_per_device,
        threads=threads,
        timeout=timeout,
        verbose=verbose,
        quiet=quiet,
    )
    url = resolve_storage_url(storage)
    code = resume(url, study, options, stdout, n_trials=n_trials, add_trials=add_trials)
    raise typer.Exit(code)


def worker_command(
    study: StudyOption,
    storage: StorageOption = None,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or cuda:N.")] = "cpu",
    n_trials: Annotated[
        int | None, typer.Option("--n-trials", min=1, help="Stop after N trials of its own.")
    ] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="torch CPU threads.")
    ] = None,
    ordinal: Annotated[int, typer.Option("--ordinal", hidden=True)] = 0,
    deadline: Annotated[float | None, typer.Option("--deadline", hidden=True)] = None,
    silent: Annotated[bool, typer.Option("--silent", hidden=True)] = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Join an existing study from any machine: only the storage URL and the name are needed.

    In a terminal a live board shows the whole study above this worker's trial lines.
    `--silent` (for workers a launcher starts) prints no line per trial and leaves the failure
    budget's one-line message to the launcher."""
    from contextlib import nullcontext

    from sweeper.dashboard.artifacts import upload_trial_health
    from sweeper.live.follower import BoardThread
    from sweeper.progress import describe_trial
    from sweeper.workers.loop import WorkerOptions, run_worker
    from sweeper.workers.stopping import StopSignals

    if deadline is not None and deadline < time.time() - 86_400 * 365:
        raise SweeperError("--deadline: in the past")
    logs.configure(verbose=verbose)
    stop = StopSignals()
    stop.install()
    options = WorkerOptions(
        storage_url=resolve_storage_url(storage),
        study_name=study,
        device=device,
        n_trials=n_trials,
        deadline=deadline,
        ordinal=ordinal,
        threads=threads,
    )

    live = not silent and not quiet and stdout.is_terminal
    board = BoardThread(options.storage_url, study, stdout) if live else None

    def show(trial: FrozenTrial, metric: str) -> None:
        if board is not None:
            board.print(describe_trial(trial, metric))
        else:
            print(describe_trial(trial, metric), flush=True)

    try:
        with board if board is not None else nullcontext():
            code = run_worker(
                options, stop, on_trial=None if silent else show, upload_health=upload_trial_health
            )
    except StudyStopped:
        if not silent:
            raise
        code = ExitCode.FAILURE_BUDGET
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Mount the commands that run trials."""
    app.command("launch")(launch_command)
    app.command("create")(create_command)
    app.command("resume")(resume_command)
    app.command("worker")(worker_command)
