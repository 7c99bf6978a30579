"""The live board rich's Live redraws while a sweep runs: progress and ETA, a table of the running
trials with the health signals nearest their thresholds, and the last prunes with their reasons.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from sweeper.live.snapshot import StudySnapshot
from sweeper.progress import format_elapsed, format_value

__all__ = ["board", "progress_line"]


def progress_line(snap: StudySnapshot) -> str:
    """`study toy: 5/12 finished (3 COMPLETE, 2 PRUNED, 0 FAIL), 2 running; 1m05s elapsed, ETA
    2m10s; best trial 3 val_mse=0.031`."""
    counts = snap.counts
    eta = "ETA -" if snap.eta_s is None else f"ETA {format_elapsed(snap.eta_s)}"
    best = (
        "no trial completed yet"
        if snap.best_number is None
        else f"best trial {snap.best_number} {snap.metric}={format_value(snap.best_value)}"
    )
    return (
        f"study {snap.study}: {snap.finished}/{snap.target} finished "
        f"({counts['COMPLETE']} COMPLETE, {counts['PRUNED']} PRUNED, {counts['FAIL']} FAIL), "
        f"{len(snap.running)} running; {format_elapsed(snap.elapsed_s)} elapsed, {eta}; {best}"
    )


def running_table(snap: StudySnapshot) -> Table:
    """One row per running trial: number, worker, device, epoch, latest value, nearest limits."""
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for column in ("trial", "worker", "device", "epoch", snap.metric, "nearest health limits"):
        table.add_column(column, overflow="fold")
    for row in snap.running:
        table.add_row(
            str(row.number),
            row.worker or "-",
            row.device or "-",
            "-" if row.epoch is None else str(row.epoch),
            format_value(row.value),
            "; ".join(c.text for c in row.nearest) or "-",
        )
    return table


def board(snap: StudySnapshot) -> RenderableType:
    """The whole board for one snapshot."""
    parts: list[RenderableType] = [Text(progress_line(snap), style="bold")]
    if snap.running:
        parts.append(running_table(snap))
    else:
        parts.append(Text("no trial running", style="dim"))
    if snap.prunes:
        parts.append(Text("last prunes:", style="bold"))
        for prune in snap.prunes:
            parts.append(Text(f"  trial {prune.number} {prune.state}: {prune.reason}"))
    return Group(*parts)
