"""End to end: a real ``streamlit run app.py`` server driven by headless Chromium.

Screenshots land in ``test-artifacts/e2e/`` (git-ignored). The browser is Debian's
chromium; without it the test is skipped on a developer machine and fails in CI.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from core.runs import manager
from tests.e2e.browser import (
    ARTIFACTS,
    CHROMIUM,
    FLAGS,
    REPO,
    expect,
    free_port,
    press_until,
    require_browser,
    sync_playwright,
)

NAVIGATION = ["Data", "Train", "Runs", "Experiments", "Explain", "Predict", "Report"]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}

require_browser()

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    runs_root = tmp_path_factory.mktemp("e2e-runs")
    port = free_port()
    env = {**os.environ, "DAIC_RUNS_ROOT": str(runs_root), "OMP_NUM_THREADS": "1"}
    log = open(tmp_path_factory.mktemp("e2e-log") / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("the Streamlit server did not come up within 60 s")
    yield url, runs_root
    for run in manager.list_runs(runs_root):
        if run.status in ("starting", "running"):
            manager.stop_run(run.path, timeout_s=10)
    process.terminate()
    process.wait(timeout=20)
    log.close()


def _record_requests(page, requested: list[str]) -> None:
    """Collect the URL of every request the page makes (documents, scripts, fonts, icons)."""
    page.on("request", lambda request: requested.append(request.url))


def _foreign(requested: list[str]) -> list[str]:
    """The requested URLs whose host is not this machine's loopback server."""
    hosts = {url: urllib.parse.urlsplit(url).hostname for url in requested}
    return [url for url, host in hosts.items() if host is not None and host not in LOCAL_HOSTS]


def _navigation_labels(page) -> list[str]:
    links = page.get_by_test_id("stSidebarNav").get_by_role("link")
    return [re.sub(r"^\W+", "", text).strip() for text in links.all_inner_texts()]


def test_home_loads_and_a_run_started_from_train_draws_its_curve(server):
    url, runs_root = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _record_requests(page, requested)

        # A bookmarked page URL is the first thing this fresh server sees: it still gets
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
        page.get_by_role("radio", name="audio").click()
        press_until(
            page.get_by_role("button", name="Start"),
            lambda: bool(manager.list_runs(runs_root)),
            "no run started",
        )

        at_least_two_epochs = re.compile(r"Epoch ([2-9]|\d{2,}) of \d+")
        expect(page.get_by_text(at_least_two_epochs)).to_be_visible(timeout=120_000)
        expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
        page.screenshot(path=ARTIFACTS / "train-live.png", full_page=True)

        page.screenshot(path=ARTIFACTS / "train-after.png", full_page=True)
        browser.close()

    assert requested, "no request was recorded"
    assert _foreign(requested) == [], "the pages fetched assets from outside this machine"
    (run,) = manager.list_runs(runs_root)
    assert run.modality == "audio" and run.status != "failed"
    assert run.epochs_done >= 2


def test_explain_and_predict_show_the_running_audio_run(server):
    url, runs_root = server
    (run,) = manager.list_runs(runs_root)  # started by the test above
    assert (run.path / "best_model.pth").exists()
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        _record_requests(page, requested)
        page.goto(url)
        expect(page.get_by_text("train participants")).to_be_visible(timeout=90_000)

        page.get_by_role("link", name="Explain").click()
        expect(page.get_by_role("heading", name="Explain")).to_be_visible(timeout=30_000)
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
        expect(page.get_by_text("Late fusion")).to_be_visible()
        page.screenshot(path=ARTIFACTS / "predict.png", full_page=True)
        browser.close()

    assert _foreign(requested) == [], "the pages fetched assets from outside this machine"
