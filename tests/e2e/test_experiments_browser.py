"""End to end: start a small experiment from the Experiments screen in a real browser.

The shared ``streamlit run app.py`` server and Debian's chromium (as ``test_browser.py``):
the form is filled in, Start pressed, and the page, polling once a second, shows the
state grid filling in and the objective chart appearing. Screenshots land in
``test-artifacts/e2e/``.
"""

from __future__ import annotations

import re

import pytest

from core.experiment import experiment_status, list_experiments
from tests.e2e.browser import (
    ARTIFACTS,
    CHROMIUM,
    FLAGS,
    expect,
    foreign,
    require_browser,
    settled,
    sync_playwright,
)

require_browser()

pytestmark = pytest.mark.slow


def test_an_experiment_started_on_the_screen_fills_its_grid_and_chart(app_server, small_corpus):
    url, runs_root = app_server.url, app_server.runs_root
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{url}/experiments")
        expect(page.get_by_role("heading", name="Experiments")).to_be_visible(timeout=90_000)
        settled(page)
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text("DAIC-WOZ folder on this machine").click()
        folder_box = sidebar.get_by_role("textbox", name="Corpus folder")
        expect(folder_box).to_be_visible(timeout=30_000)
        settled(page)
        folder_box.fill(str(small_corpus))
        folder_box.press("Enter")
        expect(page.get_by_text(re.compile(r"\d+ runs: "))).to_be_visible(timeout=60_000)
        settled(page)

        page.get_by_role("textbox", name="Name").fill("browser")
        page.get_by_role("textbox", name="Name").press("Enter")
        settled(page)
        page.get_by_role("textbox", name="Seeds").fill("0")
        page.get_by_role("textbox", name="Seeds").press("Enter")
        settled(page)
        page.get_by_role("textbox", name="Hidden units: values").fill("8, 16")
        page.get_by_role("textbox", name="Hidden units: values").press("Enter")
        settled(page)
        page.get_by_text("Training (fixed)").click()
        settled(page)
        epochs = page.locator("input[type=range][aria-label=Epochs]")
        epochs.focus()
        epochs.press("Home")  # the slider's lowest value: 1 epoch
        plan = re.compile(r"2 runs: 2 configurations x 1 seed, each up to 1 epochs")
        expect(page.get_by_text(plan)).to_be_visible(timeout=30_000)
        page.screenshot(path=ARTIFACTS / "experiments-compose.png", full_page=True)
        settled(page)
        page.get_by_role("button", name="Start experiment").click()

        expect(page.get_by_text(re.compile(r"browser: running; "))).to_be_visible(timeout=90_000)
        grid = page.get_by_test_id("stDataFrame").first  # the state grid, drawn on a canvas
        expect(grid).to_be_visible(timeout=60_000)
        chart = page.get_by_text(re.compile(r"macro-F1 per configuration")).first
        expect(chart).to_be_visible(timeout=180_000)
        page.screenshot(path=ARTIFACTS / "experiments-live.png", full_page=True)
        expect(page.get_by_text(re.compile(r"browser: completed; 2 of 2 runs"))).to_be_visible(
            timeout=120_000
        )
        page.screenshot(path=ARTIFACTS / "experiments-done.png", full_page=True)
        browser.close()

    (experiment,) = list_experiments(runs_root)
    status = experiment_status(experiment["path"])
    assert status["state"] == "completed" and status["done"] == 2
    assert foreign(requested) == [], "the page fetched assets from outside this machine"
