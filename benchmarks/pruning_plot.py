"""The anytime figure of `pruning.py`: best value so far against cumulative compute, one panel
per space, one line per arm (the median over seeds of each seed's step curve)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

GRID = 200


def median_curve(curves: list[list[tuple[float, Any]]], grid: np.ndarray) -> np.ndarray:
    """The median over seeds of best-so-far at each grid point (NaN until most seeds have one,
    and after most seeds' studies ended)."""
    values = np.full((len(curves), len(grid)), np.nan)
    for row, curve in enumerate(curves):
        for spent, best in curve:
            if best is not None:
                values[row, grid >= spent] = best
        if curve:
            values[row, grid > curve[-1][0]] = np.nan  # the arm spent no more than this
    enough = np.sum(~np.isnan(values), axis=0) * 2 > len(curves)
    out = np.full(len(grid), np.nan)
    out[enough] = np.nanmedian(values[:, enough], axis=0)
    return out


def anytime_png(results: dict[str, Any], path: Path) -> None:
    """Write the figure to `path` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spaces = list(results)
    fig, axes = plt.subplots(1, len(spaces), figsize=(5.2 * len(spaces), 4.2), squeeze=False)
    for ax, space in zip(axes[0], spaces, strict=True):
        arms = results[space]["arms"]
        top = max(max(f["compute_s"]) for f in arms.values())
        grid = np.linspace(0, top, GRID)
        for arm, fig_data in arms.items():
            curves = [s["curve"] for s in fig_data["per_seed"]]
            style = ":" if arm.endswith("oracle") else "-"
            ax.plot(grid, median_curve(curves, grid), style, label=arm, linewidth=1.6)
        maximize = results[space]["maximize"]
        metric = "hits@20 (higher is better)" if maximize else "SHD (lower is better)"
        ax.set_title(f"{space} ({len(results[space]['seeds'])} seeds, median)")
        ax.set_xlabel("cumulative compute (CPU-s)")
        ax.set_ylabel(f"best so far: {metric}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
