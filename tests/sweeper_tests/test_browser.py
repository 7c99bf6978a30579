"""What a person sees in a real browser: headless Chromium (Debian's), driven by playwright.

The dashboard test starts the real `sweeper dashboard` on a free loopback port; the report test
opens report.html from disk with every network request refused, as on a machine offline.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from optuna.trial import TrialState
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import run_cli
from tests.sweeper_tests.browse_study import (  # noqa: F401 - browse_study is a fixture
    BrowseStudy,
    browse_study,
    start_dashboard,
    stop,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (`.ci/run` / scripts/setup.sh install it)."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run scripts/setup.sh"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser: Browser) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def test_dashboard_lists_trials_and_shows_a_pruned_trials_reason(
    browser: Browser,
    browse_study: BrowseStudy,  # noqa: F811
) -> None:
    study = browse_study.load()
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED][0]
    reason = pruned.user_attrs["prune_reason"]
    process, base = start_dashboard(browse_study.url, cwd=browse_study.directory)
    try:
        page, errors = _page(browser)
        page.goto(f"{base}/dashboard/studies/{study._study_id}/trials")
        for trial in study.trials:
            page.get_by_text(f"Trial {trial.number}", exact=True).first.wait_for(timeout=30_000)
        page.goto(f"{base}/dashboard/studies/{study._study_id}/trials?numbers={pruned.number}")
        page.get_by_role("heading", name=f"Trial {pruned.number} (trial_id=").wait_for()
        # the note at the top: the rule and its message; then the user attribute itself
        rule, _, detail = reason.partition(":")
        page.get_by_text(f"Pruned by {rule}").wait_for(timeout=30_000)
        page.get_by_text(detail.strip()).first.wait_for()
        assert page.get_by_text(f"prune_reason {reason}", exact=True).count() == 1
        curves = page.locator(f"img[alt='trial {pruned.number} health']")
        curves.wait_for()
        assert curves.evaluate("img => img.complete && img.naturalWidth") > 0
    finally:
        stop(process)
    assert errors == []


def test_report_renders_every_figure_offline(
    browser: Browser,
    browse_study: BrowseStudy,  # noqa: F811
    tmp_path: Path,
) -> None:
    output = tmp_path / "report.html"
    done = run_cli(
        "report", "--study", browse_study.name, "--storage", browse_study.url, "-o", str(output)
    )
    assert done.returncode == 0, done.stderr
    page, errors = _page(browser)
    outside: list[str] = []

    def refuse(route: object) -> None:
        outside.append(route.request.url)  # type: ignore[attr-defined]
        route.abort()  # type: ignore[attr-defined]

    page.route("http*://**/*", refuse)
    page.goto(output.as_uri())
    figures = page.locator(".js-plotly-plot")
    drawn = "d => d.querySelectorAll('.main-svg path, .main-svg rect').length"
    page.wait_for_function(
        f"() => [...document.querySelectorAll('.js-plotly-plot')].every({drawn} > 10)",
        timeout=60_000,
    )  # every figure drew its axes, lines, bars
    ids = figures.evaluate_all("divs => divs.map(d => d.id)")
    assert ids == ["fig-pruning", "fig-history", "fig-importances", "fig-parallel", "fig-health"]
    assert page.get_by_text("grad_explosion").count() > 0
    assert outside == [] and errors == []


def test_the_pruning_figure_fits_its_dashboard_card_with_a_legend(
    browser: Browser,
    browse_study: BrowseStudy,  # noqa: F811
) -> None:
    study = browse_study.load()
    rules = {
        str(t.user_attrs.get("prune_reason", "base_pruner")).split(":")[0]
        for t in study.trials
        if t.state == TrialState.PRUNED
    }
    process, base = start_dashboard(browse_study.url, cwd=browse_study.directory)
    try:
        page, errors = _page(browser)
        page.goto(f"{base}/dashboard/studies/{study._study_id}")
        title = page.get_by_text("sweeper: why trials were pruned and what pruning saved")
        title.wait_for(timeout=60_000)
        fit = title.evaluate(
            """t => {
                const plot = t.closest('.js-plotly-plot');
                const card = plot.closest('.MuiCard-root') || plot.parentElement;
                const svg = plot.querySelector('.main-svg').getBoundingClientRect();
                const box = card.getBoundingClientRect();
                const legend = [...plot.querySelectorAll('.legend .traces')].map(
                    e => e.textContent.trim());
                return {inside: svg.top >= box.top && svg.bottom <= box.bottom
                                && svg.left >= box.left && svg.right <= box.right,
                        legend};
            }"""
        )
    finally:
        stop(process)
    assert fit["inside"], "the figure is cut off by its card"
    assert rules <= set(fit["legend"]) and "completed" in fit["legend"], fit["legend"]
    assert errors == []
