"""`sweeper dashboard` and `sweeper report`: look at a study in a browser, live or as a file."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from storage.urls import redact_url, resolve_storage_url
from sweeper.cli.options import HostOption, PortOption, StorageOption
from sweeper.cli.output import stderr, stdout
from sweeper.cli.study_name import StudyArgument, StudyFlag, required_study_name, study_name
from sweeper.errors import SweeperError
from sweeper.exit_codes import ExitCode

#: Seconds a stopping dashboard waits for an annotation refresh in flight.
ANNOTATOR_STOP_S = 5.0


@contextmanager
def _spinner(console: Console, text: str) -> Iterator[Callable[[str], None]]:
    """A spinner with a changing label in a terminal; silent otherwise. Yields `step(label)`."""
    if not console.is_terminal:
        yield lambda _label: None
        return
    with console.status(text) as status:
        yield lambda label: status.update(f"{text}: {label}")


def dashboard_command(
    name: StudyArgument = None,
    study: StudyFlag = None,
    storage: StorageOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8080,
    artifacts: Annotated[
        Path | None,
        typer.Option("--artifacts", help="Artifact directory (default: where workers upload)."),
    ] = None,
) -> None:
    """Serve optuna-dashboard on the storage, with each trial's health curves as artifacts."""
    from sweeper.dashboard.annotations import Annotator, annotate_all
    from sweeper.dashboard.server import (
        bind,
        choose_artifact_dir,
        dashboard_app,
        open_dashboard_storage,
        public_host_warning,
        url_of,
    )
    from sweeper.studies import missing_study

    study = study_name(name, study, command="dashboard")
    url = resolve_storage_url(storage)
    warning = public_host_warning(host)
    if warning:
        stderr.print(warning, markup=False)
    store = open_dashboard_storage(url)
    page = ""
    if study is not None:
        if study not in {s.study_name for s in store.get_all_studies()}:
            raise SweeperError(missing_study(store, study))
        page = f"studies/{store.get_study_id_from_name(study)}"
    directory, note = choose_artifact_dir(store, url, artifacts)
    if note:
        stderr.print(note, markup=False)
    annotator = Annotator(store)
    with _spinner(stdout, "writing pruning figures and trial notes"):
        annotate_all(store, annotator.done)
    server = bind(dashboard_app(store, directory), host, port)
    try:  # from here on, Ctrl-C at any moment (even before serving) closes cleanly
        annotator.start()
        stdout.print(
            f"optuna-dashboard on {url_of(server, host)}{page} (storage {redact_url(url)}, "
            f"artifacts {directory}); Ctrl-C stops it",
            markup=False,
        )
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        annotator.stopped.set()
        server.server_close()
    annotator.join(timeout=ANNOTATOR_STOP_S)
    if annotator.is_alive():
        # A refresh in flight may sit in SQLite's busy wait; exiting through the interpreter's
        # shutdown would wait for it (up to the busy timeout). Nothing is left to write.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(ExitCode.OK)


def report_command(
    name: StudyArgument = None,
    study: StudyFlag = None,
    storage: StorageOption = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path(
        "report.html"
    ),
) -> None:
    """Write one self-contained HTML report of a study (opens offline)."""
    from storage.engine import open_storage
    from sweeper.report.html import build_report
    from sweeper.studies import load_study

    study = required_study_name(name, study, command="report")
    url = resolve_storage_url(storage)
    with _spinner(stdout, f"report on {study}") as step:
        loaded, config = load_study(open_storage(url, must_exist=True), study)
        text = build_report(loaded, config, storage_label=redact_url(url), step=step)
        step("writing")
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise SweeperError(f"--output: cannot write {output}: {error.strerror}") from None
    size_mb = len(text.encode("utf-8")) / 1e6
    stdout.print(f"wrote {output} ({size_mb:.1f} MB, opens offline)", markup=False)


def register(app: typer.Typer) -> None:
    """Mount the commands that show studies in a browser."""
    app.command("dashboard")(dashboard_command)
    app.command("report")(report_command)
