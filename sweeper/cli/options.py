"""Options more than one command group takes, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

StorageOption = Annotated[
    str | None,
    typer.Option(
        "--storage", help="Storage URL (else $SWEEPER_STORAGE, else sqlite:///sweeps.db)."
    ),
]
StudyOption = Annotated[str, typer.Option("--study", help="Study name.")]
