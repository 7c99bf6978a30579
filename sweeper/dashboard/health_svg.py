"""A trial's health curves as a small self-contained SVG: one panel per signal.

optuna-dashboard shows image artifacts inline on the trial's page; SVG needs no plotting
library in the worker. Positive signals spanning more than two decades get a log axis; NaN and
infinite values are marked with a red cross at the top of their panel.
"""

from __future__ import annotations

import math
from html import escape

from sweeper.health.formatting import sci
from sweeper.health.series import HealthSeries
from sweeper.report.trials import plotted_signals, wants_log_axis

COLUMNS = 3
PANEL_W, PANEL_H = 300, 160
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 58, 12, 24, 22
TITLE_H = 30
LINE_COLOR = "#1f77b4"
BAD_COLOR = "#d62728"


def health_svg(series: HealthSeries, title: str) -> str:
    """An SVG document plotting every recorded signal of `series` against the epoch."""
    signals = plotted_signals([series])
    rows = max(1, math.ceil(len(signals) / COLUMNS))
    width = COLUMNS * PANEL_W
    height = TITLE_H + rows * PANEL_H
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="8" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    if not signals:
        parts.append(f'<text x="8" y="{TITLE_H + 20}">no health signals were recorded</text>')
    for index, name in enumerate(signals):
        x0 = (index % COLUMNS) * PANEL_W
        y0 = TITLE_H + (index // COLUMNS) * PANEL_H
        parts += _panel(series.epochs, series.values(name), name, x0, y0)
    parts.append("</svg>")
    return "\n".join(parts)


def _panel(
    epochs: list[int], values: list[float | None], name: str, x0: float, y0: float
) -> list[str]:
    """One signal's axes, tick labels, line and non-finite markers."""
    left, top = x0 + PAD_LEFT, y0 + PAD_TOP
    right, bottom = x0 + PANEL_W - PAD_RIGHT, y0 + PANEL_H - PAD_BOTTOM
    log = wants_log_axis(values)
    finite = [v for v in values if v is not None and math.isfinite(v)]
    label = f"{name} (log)" if log else name
    out = [
        f'<text x="{left}" y="{y0 + 15}" font-weight="bold">{escape(label)}</text>',
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
        'fill="none" stroke="#999"/>',
    ]
    if not epochs:
        return out
    e_min, e_max = min(epochs), max(epochs)

    def x_of(epoch: int) -> float:
        return left + (epoch - e_min) / max(e_max - e_min, 1) * (right - left)

    out += [
        f'<text x="{left}" y="{bottom + 14}" text-anchor="middle">{e_min}</text>',
        f'<text x="{right}" y="{bottom + 14}" text-anchor="end">epoch {e_max}</text>',
    ]
    if finite:
        lo, hi = min(finite), max(finite)
        scale = (lambda v: math.log10(v)) if log else (lambda v: v)
        s_lo, s_hi = scale(lo), scale(hi)
        if s_hi == s_lo:
            s_lo, s_hi = s_lo - 1, s_hi + 1

        def y_of(value: float) -> float:
            return bottom - (scale(value) - s_lo) / (s_hi - s_lo) * (bottom - top)

        for tick, text in tick_labels(lo, hi):
            out.append(
                f'<text x="{left - 4}" y="{y_of(tick) + 4:.1f}" text-anchor="end">{text}</text>'
            )
        for segment in _segments(epochs, values):
            points = " ".join(f"{x_of(e):.1f},{y_of(v):.1f}" for e, v in segment)
            if len(segment) == 1:
                e, v = segment[0]
                out.append(
                    f'<circle cx="{x_of(e):.1f}" cy="{y_of(v):.1f}" r="2.5" fill="{LINE_COLOR}"/>'
                )
            else:
                out.append(
                    f'<polyline points="{points}" fill="none" stroke="{LINE_COLOR}" '
                    'stroke-width="1.6"/>'
                )
    for epoch, value in zip(epochs, values, strict=True):
        if value is not None and not math.isfinite(value):
            x = x_of(epoch)
            out.append(
                f'<text x="{x:.1f}" y="{top + 12}" text-anchor="middle" fill="{BAD_COLOR}" '
                f'font-weight="bold">&#x2715;<title>{escape(str(value))} at epoch {epoch}'
                "</title></text>"
            )
    return out


def tick_labels(lo: float, hi: float, max_digits: int = 8) -> list[tuple[float, str]]:
    """The y axis's end labels, with as many digits as it takes for them to differ: a signal
    that barely moves reads `1.402e+00` / `1.405e+00`, never `1.4e+00` at both ends."""
    if lo == hi:
        return [(lo, sci(lo))]
    digits = 2
    while sci(lo, digits) == sci(hi, digits) and digits < max_digits:
        digits += 1
    return [(lo, sci(lo, digits)), (hi, sci(hi, digits))]


def _segments(epochs: list[int], values: list[float | None]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive finite values (a line breaks where a value is missing or non-finite)."""
    runs: list[list[tuple[int, float]]] = [[]]
    for epoch, value in zip(epochs, values, strict=True):
        if value is None:
            continue  # an epoch without this signal (e.g. no evaluation): bridge it
        if not math.isfinite(value):
            runs.append([])
            continue
        runs[-1].append((epoch, value))
    return [run for run in runs if run]
