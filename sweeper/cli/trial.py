"""`sweeper trial`: one trial's parameters, value, state and reason, with its health curves."""

from __future__ import annotations

from typing import Annotated

import typer

from storage.urls import resolve_storage_url
from sweeper.cli.options import StorageOption
from sweeper.cli.output import print_json, stdout
from sweeper.cli.study_name import StudyFlag
from sweeper.errors import SweeperError

# Optuna and the storage are imported when the command runs (see `sweeper.cli.run`).


def trial_command(
    number: Annotated[int, typer.Argument(help="The trial number.", min=0)],
    study: StudyFlag = None,
    storage: StorageOption = None,
    last: Annotated[
        int, typer.Option("--last", min=0, help="Epochs in the per-epoch table (0: all).")
    ] = 20,
    signals: Annotated[
        str | None,
        typer.Option("--signals", help="Comma-separated signals for the per-epoch table."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show trial N of a study: its parameters, value, state, prune or fail reason, and its
    health series as sparklines and a per-epoch table."""
    from storage.engine import open_storage
    from sweeper.live.trial_card import card, card_dict
    from sweeper.studies import load_study

    if study is None:
        raise SweeperError("trial: which study? sweeper trial --study NAME N")
    loaded, config = load_study(open_storage(resolve_storage_url(storage), must_exist=True), study)
    trials = loaded.get_trials(deepcopy=False)
    found = next((t for t in trials if t.number == number), None)
    if found is None:
        raise SweeperError(
            f"trial: study {study} has no trial {number} (it has {len(trials)} trials: "
            f"0..{len(trials) - 1})"
            if trials
            else f"trial: study {study} has no trials yet"
        )
    if as_json:
        print_json(card_dict(found, config.metric))
        return
    wanted = [s.strip() for s in signals.split(",") if s.strip()] if signals else None
    stdout.print(card(found, config.metric, last=last, signals=wanted))


def register(app: typer.Typer) -> None:
    """Mount `sweeper trial`."""
    app.command("trial")(trial_command)
