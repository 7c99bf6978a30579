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
HostOption = Annotated[
    str, typer.Option("--host", help="Address to bind (loopback unless you mean it).")
]
PortOption = Annotated[
    int, typer.Option("--port", min=0, max=65535, help="Port (0: any free port).")
]
