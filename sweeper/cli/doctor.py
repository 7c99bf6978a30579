"""`sweeper doctor`: which settings made a study's trials sick, and a narrowed study file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from storage.urls import resolve_storage_url
from sweeper.cli.options import StorageOption
from sweeper.cli.output import print_json, stdout
from sweeper.cli.study_name import StudyArgument, StudyFlag, required_study_name
from sweeper.errors import SweeperError

# Optuna, scikit-learn and the storage are imported when the command runs (see `sweeper.cli.run`).


def doctor_command(
    name: StudyArgument = None,
    study: StudyFlag = None,
    storage: StorageOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write a study file with the sick regions cut out."),
    ] = None,
) -> None:
    """The parameters that predict each prune reason and FAIL, what healthy trials share, which
    parameters do not matter; `-o` writes the space without the sick regions."""
    from storage.engine import open_storage
    from sweeper.doctor import diagnose
    from sweeper.studies import load_study

    study = required_study_name(name, study, command="doctor")
    loaded, config = load_study(open_storage(resolve_storage_url(storage), must_exist=True), study)
    diagnosis = diagnose(loaded, config)
    if output is not None:
        try:
            output.write_text(diagnosis.narrowed_yaml(), encoding="utf-8")
        except OSError as error:
            raise SweeperError(f"--output: cannot write {output}: {error.strerror}") from None
    if as_json:
        print_json(diagnosis.as_dict())
        return
    for line in diagnosis.lines():
        stdout.print(line, markup=False)
    if output is not None:
        stdout.print(f"wrote {output}: sweeper launch {output}", markup=False)


def register(app: typer.Typer) -> None:
    """Mount `sweeper doctor`."""
    app.command("doctor")(doctor_command)
