"""`sweeper status`, `sweeper list` and `sweeper best`: read-only views of studies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from storage.urls import resolve_storage_url
from sweeper.cli.options import StorageOption
from sweeper.cli.output import print_json, stdout
from sweeper.cli.study_name import StudyArgument, StudyFlag, required_study_name, study_name
from sweeper.errors import SweeperError

# Optuna and the storage are imported by the commands when they run (see `sweeper.cli.run`).

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def status_command(
    name: StudyArgument = None,
    study: Annotated[str | None, typer.Option("--study", help="One study in detail.")] = None,
    storage: StorageOption = None,
    as_json: JsonOption = False,
    series: Annotated[
        bool, typer.Option("--series", help="With --json: each trial's per-epoch health series.")
    ] = False,
    watch: Annotated[
        bool,
        typer.Option("--watch", help="Follow the study live until its target (Ctrl-C to stop)."),
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.2, help="Seconds between --watch redraws.")
    ] = 2.0,
) -> None:
    """Counts per state, the best trial and why trials were pruned (every study without a name);
    `--watch` follows a study running anywhere that shares the storage."""
    from storage.engine import open_storage
    from sweeper.failures import stop_message
    from sweeper.progress import format_value
    from sweeper.report.savings import ShadowSummary
    from sweeper.studies import load_study
    from sweeper.summary import studies_overview, study_status

    study = study_name(name, study, command="status")
    if watch and study is None:
        raise SweeperError("status: --watch follows one study: sweeper status --watch NAME")
    store = open_storage(resolve_storage_url(storage), must_exist=True)
    if study is None:
        rows = studies_overview(store)
        if as_json:
            print_json({"studies": rows})
        else:
            _print_overview(rows)
        return
    loaded, config = load_study(store, study)
    if watch:
        if as_json:
            raise SweeperError("status: --watch draws a live view; it does not go with --json")
        from sweeper.live.follower import watch as follow_live

        try:
            follow_live(loaded, config, stdout, interval=interval)
        except KeyboardInterrupt:
            pass
    status = study_status(loaded, series=series)
    if as_json:
        print_json(status)
        return
    counts = "  ".join(f"{state} {n}" for state, n in status["counts"].items())
    finished = status["counts"]["COMPLETE"] + status["counts"]["PRUNED"]
    stdout.print(
        f"study {status['study']} ({status['direction']}): {finished}/{status['target']} finished"
    )
    stdout.print(counts)
    if status["stopped"] is not None:
        stdout.print(
            f"{stop_message(status['study'], status['stopped'])}; fix the cause, then "
            f"`sweeper resume --study {status['study']}`",
            markup=False,
        )
    best = status["best"]
    if best is not None:
        stdout.print(f"best trial {best['number']}: {format_value(best['value'])} {best['params']}")
    if status["prune_reasons"]:
        stdout.print(
            "pruned by: " + ", ".join(f"{r} {n}" for r, n in status["prune_reasons"].items())
        )
    if status["would_prune"]:
        stdout.print(ShadowSummary(**status["would_prune"]).sentence())


#: Overview columns, least needed last: dropped from the end when the terminal is too narrow.
_OVERVIEW_COLUMNS = ("finished/target", "best", "COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")


def _print_overview(rows: list[dict[str, Any]]) -> None:
    if not rows:
        stdout.print("no studies")
        return
    cells = [_overview_cells(row) for row in rows]
    names = [row["study"] for row in rows]
    shown = list(_OVERVIEW_COLUMNS)

    def width(columns: list[str]) -> int:  # rich draws 3 characters around each column
        widths = [max(len("study"), *map(len, names))]
        widths += [max(len(c), *(len(cell[c]) for cell in cells)) for c in columns]
        return sum(w + 3 for w in widths) + 1

    while shown and width(shown) > stdout.width:
        shown.pop()
    table = Table("study", *shown)
    table.columns[0].no_wrap = True  # a study's name is never cut: other columns go first
    table.columns[0].overflow = "fold"
    for name, cell in zip(names, cells, strict=True):
        table.add_row(name, *(cell[c] for c in shown))
    stdout.print(table)


def _overview_cells(row: dict[str, Any]) -> dict[str, str]:
    from sweeper.progress import format_value

    counts = row["counts"]
    states = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")
    return {
        "finished/target": f"{counts['COMPLETE'] + counts['PRUNED']}/{row['target']}"
        + (" stopped" if row.get("stopped") else ""),
        "best": format_value(row["best_value"]),
        **{state: str(counts[state]) for state in states},
    }


def list_command(storage: StorageOption = None, as_json: JsonOption = False) -> None:
    """Every study in the storage, with its counts."""
    from storage.engine import open_storage
    from sweeper.summary import studies_overview

    rows = studies_overview(open_storage(resolve_storage_url(storage), must_exist=True))
    if as_json:
        print_json({"studies": rows})
    else:
        _print_overview(rows)


def best_command(
    name: StudyArgument = None,
    study: StudyFlag = None,
    storage: StorageOption = None,
    as_json: JsonOption = False,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write a study file that reruns the best trial.")
    ] = None,
) -> None:
    """The best value and parameters; `--output` writes a study file that reruns them."""
    from storage.engine import open_storage
    from sweeper.progress import format_value
    from sweeper.rerun import rerun_config
    from sweeper.studies import best_trial, load_study
    from sweeper.summary import best_summary

    study = required_study_name(name, study, command="best")
    loaded, config = load_study(open_storage(resolve_storage_url(storage), must_exist=True), study)
    best = best_trial(loaded)
    if best is None:
        raise SweeperError(f"study '{study}' has no completed trial yet")
    if output is not None:
        text = yaml.safe_dump(rerun_config(config, best), sort_keys=False)
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise SweeperError(f"--output: cannot write {output}: {error.strerror}") from None
    summary = best_summary(loaded)
    if as_json:
        print_json(summary)
    else:
        stdout.print(f"best trial {best.number}: {config.metric}={format_value(best.value)}")
        for param, value in best.params.items():
            stdout.print(f"  {param}: {value}")
        if output is not None:
            stdout.print(f"wrote {output}")


def register(app: typer.Typer) -> None:
    """Mount the read-only commands."""
    app.command("status")(status_command)
    app.command("list")(list_command)
    app.command("best")(best_command)
