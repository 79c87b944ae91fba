"""The model card's HTML file in headless Chromium with every non-file request blocked.

The file is written by the real command line from a real run; the browser opens it from
disk, aborts any request that is not for a local file (and records it), and every Plotly
chart of the card must render.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.browser import (
    ARTIFACTS,
    CHROMIUM,
    FLAGS,
    REPO,
    expect,
    require_browser,
    sync_playwright,
)

require_browser()

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def card_file(trained_runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The card of a copy of the session's text run, written by ``python -m core.report``."""
    runs = tmp_path_factory.mktemp("report-browser")
    run_dir = shutil.copytree(trained_runs["text"], runs / "text")
    out = runs / "card.html"
    command = [sys.executable, "-m", "core.report", str(run_dir), "--out", str(out)]
    command += ["--no-audit-training", "--subgroup-boot", "20", "--n-boot", "100"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return out


def test_the_card_renders_every_chart_offline(card_file):
    expected = card_file.read_text(encoding="utf-8").count('class="chart"')
    assert expected >= 5
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    blocked: list[str] = []
    errors: list[str] = []

    def only_files(route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.route("**/*", only_files)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(card_file.as_uri())
        charts = page.locator(".js-plotly-plot")
        expect(charts).to_have_count(expected, timeout=60_000)
        expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=30_000)
        drawn = page.evaluate(
            "() => [...document.querySelectorAll('.js-plotly-plot')]"
            ".filter(d => d.querySelector('.main-svg') && d.data && d.data.length).length"
        )
        expect(page.get_by_role("heading", name="Shortcut audit")).to_be_visible()
        page.screenshot(path=ARTIFACTS / "report-card.png", full_page=True)
        browser.close()
    assert drawn == expected
    assert blocked == [], f"the card asked for {blocked}"
    assert errors == []
