"""The comparison page in a real headless Chromium (Debian's, never a Playwright download)."""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from autophagy.report import build_comparison

from .conftest import COMPARED, LOOPS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

#: No network here: without the background-networking flags Chromium floods refused connections.
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

SCREENSHOT = Path(__file__).resolve().parents[2] / "artifacts" / "browser" / "comparison-report.png"

#: Per plot: how many traces Plotly holds, how many it drew as SVG, and the legend entries.
PLOT_STATE = """() => [...document.querySelectorAll('.js-plotly-plot')].map(el => ({
    data: el.data.length,
    drawn: el.querySelectorAll('.scatterlayer .trace').length,
    legend: el.data.filter(t => t.showlegend !== false).length,
}))"""

DRAWN = """n => {
    const plots = [...document.querySelectorAll('.js-plotly-plot')];
    const drawn = el => el.querySelectorAll('.scatterlayer .trace').length > 0;
    return plots.length === n && plots.every(drawn);
}"""


def test_comparison_page_renders_offline_in_chromium(comparison_store, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}; install Debian's: apt-get install chromium")
    by = ["loop.kind", "generator.bias"]
    page_path = build_comparison(comparison_store, by, out=tmp_path / "cmp", metrics=COMPARED)
    blocked, errors = [], []

    def offline(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(10_000)
            page.route("**/*", offline)
            page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            page.on("console", lambda m: m.type == "error" and errors.append(f"console: {m.text}"))
            page.goto(page_path.as_uri(), wait_until="load")
            page.wait_for_function(DRAWN, arg=len(COMPARED))
            plots = page.evaluate(PLOT_STATE)
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()

    assert errors == []
    assert blocked == []
    assert len(plots) == len(COMPARED)
    groups = len(LOOPS) * 2  # x 2 generator.bias values
    for plot in plots:
        assert plot["data"] > 0 and plot["drawn"] > 0
        assert plot["legend"] == groups
    assert SCREENSHOT.stat().st_size > 0
