"""End to end: a real ``streamlit run app.py`` server driven by headless Chromium.

Screenshots land in ``test-artifacts/e2e/`` (git-ignored). The browser is Debian's
chromium; without it these tests are skipped on a developer machine and fail in CI.
"""

from __future__ import annotations

import re
import shutil

import pytest

from core.runs import folder, manager
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
from tests.runs.helpers import wait_for

NAVIGATION = ["Data", "Train", "Runs", "Experiments", "Explain", "Predict", "Report"]

require_browser()

pytestmark = pytest.mark.slow


def _navigation_labels(page) -> list[str]:
    links = page.get_by_test_id("stSidebarNav").get_by_role("link")
    return [re.sub(r"^\W+", "", text).strip() for text in links.all_inner_texts()]


def test_home_loads_and_a_run_started_from_train_draws_its_curve(app_server):
    url, runs_root = app_server.url, app_server.runs_root
    before = {run.path for run in manager.list_runs(runs_root)}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda request: requested.append(request.url))

        # A bookmarked page URL as the first page of a browser session: it still gets
        # the app's navigation labels (not file names), the sidebar and the disclaimer.
        page.goto(f"{url}/train")
        expect(page.get_by_text("Data source")).to_be_visible(timeout=90_000)
        expect(page.get_by_role("heading", name="Train")).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("stSidebarNav")).to_be_visible(timeout=30_000)
        assert _navigation_labels(page) == NAVIGATION
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("Research software, not a diagnostic device")).to_be_visible()
        page.screenshot(path=ARTIFACTS / "deep-link-train.png", full_page=True)

        page.goto(url)
        expect(page.get_by_text("train participants")).to_be_visible(timeout=90_000)
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
        page.screenshot(path=ARTIFACTS / "home.png", full_page=True)

        page.get_by_role("link", name="Train").click()
        expect(page.get_by_role("heading", name="Train")).to_be_visible(timeout=30_000)
        settled(page)
        page.get_by_role("radio", name="audio").click()
        settled(page)
        page.get_by_role("button", name="Start").click()

        def started():
            return [run for run in manager.list_runs(runs_root) if run.path not in before]

        (run,) = wait_for(started, 60, "the run started from the Train page", poll_s=0.25)
        # The panel shows the new run (not a run that was on screen before), and its epochs.
        expect(page.get_by_text(run.path.name).first).to_be_visible(timeout=60_000)
        two = lambda: len(folder.read_metrics(run.path)) >= 2  # noqa: E731
        wait_for(two, 120, "two epochs of the new run", poll_s=0.5)
        at_least_two_epochs = re.compile(r"Epoch ([2-9]|\d{2,}) of \d+")
        expect(page.get_by_text(at_least_two_epochs)).to_be_visible(timeout=30_000)
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
        page.screenshot(path=ARTIFACTS / "train-live.png", full_page=True)
        browser.close()

    assert requested, "no request was recorded"
    assert foreign(requested) == [], "the pages fetched assets from outside this machine"
    (run,) = [run for run in manager.list_runs(runs_root) if run.path not in before]
    assert run.modality == "audio" and run.status != "failed"
    assert run.epochs_done >= 2


def test_explain_and_predict_show_an_audio_run(app_server, trained_runs):
    url, runs_root = app_server.url, app_server.runs_root
    shutil.copytree(trained_runs["audio"], runs_root / "audio-explained")  # a copy to read
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{url}/explain")
        expect(page.get_by_role("heading", name="Explain")).to_be_visible(timeout=90_000)
        settled(page)
        page.get_by_text("Audio", exact=True).click()
        expect(page.get_by_text("Attention weights show where the model looked")).to_be_visible(
            timeout=60_000
        )
        expect(page.get_by_text("Convergence delta")).to_be_visible(timeout=30_000)
        expect(page.locator(".js-plotly-plot")).to_have_count(3, timeout=30_000)
        page.screenshot(path=ARTIFACTS / "explain-audio.png", full_page=True)

        page.get_by_role("link", name="Predict").click()
        notice = page.get_by_test_id("stMainBlockContainer").get_by_text(
            "Research software, not a diagnostic device"
        )
        expect(notice).to_be_visible(timeout=30_000)
        expect(page.get_by_text("True label:")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Late fusion", exact=True)).to_be_visible()
        page.screenshot(path=ARTIFACTS / "predict.png", full_page=True)
        browser.close()

    assert foreign(requested) == [], "the pages fetched assets from outside this machine"
