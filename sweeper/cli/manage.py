"""`sweeper delete` and `sweeper copy`: change which studies a storage holds."""

from __future__ import annotations

from typing import Annotated

import typer

from storage.urls import redact_url, resolve_storage_url
from sweeper.cli.options import StorageOption, StudyOption
from sweeper.cli.output import stdout
from sweeper.cli.study_name import StudyArgument, StudyFlag, required_study_name
from sweeper.errors import SweeperError


def delete_command(
    name: StudyArgument = None,
    study: StudyFlag = None,
    storage: StorageOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Really delete it.")] = False,
) -> None:
    """Delete a study and all its trials (asks for --yes)."""
    import optuna

    from storage.engine import open_storage
    from sweeper.studies import missing_study

    study = required_study_name(name, study, command="delete")
    if not yes:
        raise SweeperError(f"delete: pass --yes to delete study '{study}' and all its trials")
    url = resolve_storage_url(storage)
    store = open_storage(url, must_exist=True)
    if study not in optuna.get_all_study_names(store):
        raise SweeperError(missing_study(store, study))
    optuna.delete_study(study_name=study, storage=store)
    stdout.print(f"deleted study {study}")


def copy_command(
    study: StudyOption,
    from_url: Annotated[str, typer.Option("--from", help="Storage URL to copy from.")],
    to_url: Annotated[str, typer.Option("--to", help="Storage URL to copy to.")],
) -> None:
    """Copy a study to another storage (never overwriting) and check its trial counts."""
    from storage.copying import copy_study_checked

    copied = copy_study_checked(study, from_url, to_url)
    stdout.print(f"copied study {study} ({copied} trials) to {redact_url(to_url)}")


def register(app: typer.Typer) -> None:
    """Mount the commands that change which studies exist."""
    app.command("delete")(delete_command)
    app.command("copy")(copy_command)
