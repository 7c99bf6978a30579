"""The health curves' SVG: axis labels a user can tell apart."""

from __future__ import annotations

from sweeper.dashboard.health_svg import health_svg, tick_labels
from sweeper.health.series import HealthSeries


def test_a_signal_that_barely_moves_gets_end_labels_that_differ() -> None:
    assert tick_labels(1.4021, 1.4049) == [(1.4021, "1.402e+00"), (1.4049, "1.405e+00")]
    assert tick_labels(0.1, 10.0) == [(0.1, "1e-01"), (10.0, "1e+01")]
    assert tick_labels(2.0, 2.0) == [(2.0, "2e+00")]


def test_the_svg_never_prints_the_same_label_at_both_ends_of_an_axis() -> None:
    series = HealthSeries.from_json({"epoch": [1, 2, 3], "loss": [1.4021, 1.4035, 1.4049]})
    svg = health_svg(series, "trial 0")
    assert "1.402e+00" in svg and "1.405e+00" in svg
    assert svg.count(">1.4e+00<") == 0
