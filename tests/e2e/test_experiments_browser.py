"""End to end: start a small experiment from the Experiments screen in a real browser.

A real ``streamlit run app.py`` server and Debian's chromium (as ``test_browser.py``):
the form is filled in, Start pressed, and the page, polling once a second, shows the
state grid filling in and the objective chart appearing. Screenshots land in
``test-artifacts/e2e/``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from core.experiment import experiment_status, list_experiments, stop_experiment
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
from tests.e2e.test_browser import _foreign

require_browser()

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path, small_corpus):
    runs_root = tmp_path / "runs"
    port = free_port()
    env = {**os.environ, "DAIC_RUNS_ROOT": str(runs_root), "OMP_NUM_THREADS": "1"}
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115
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
    for experiment in list_experiments(runs_root):
        if experiment["state"] == "running":
            stop_experiment(experiment["path"], timeout_s=20)
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:  # busy generating the bundled sample
        process.kill()
        process.wait(timeout=20)
    log.close()


def test_an_experiment_started_on_the_screen_fills_its_grid_and_chart(server, small_corpus):
    url, runs_root = server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{url}/experiments")
        expect(page.get_by_role("heading", name="Experiments")).to_be_visible(timeout=90_000)
        sidebar = page.get_by_test_id("stSidebar")
        folder_box = sidebar.get_by_role("textbox", name="Corpus folder")
        for _ in range(6):  # a click while the first script run is busy can be lost
            sidebar.get_by_text("DAIC-WOZ folder on this machine").click()
            try:
                expect(folder_box).to_be_visible(timeout=10_000)
                break
            except AssertionError:
                continue
        plan = page.get_by_text(re.compile(r"\d+ runs: "))
        for _ in range(3):  # typing while a script run is busy can be lost on a loaded machine
            folder_box.fill(str(small_corpus))
            folder_box.press("Enter")
            try:
                expect(plan).to_be_visible(timeout=30_000)
                break
            except AssertionError:
                continue
        expect(plan).to_be_visible(timeout=30_000)

        page.get_by_role("textbox", name="Name").fill("browser")
        page.get_by_role("textbox", name="Name").press("Enter")
        page.get_by_role("textbox", name="Seeds").fill("0")
        page.get_by_role("textbox", name="Seeds").press("Enter")
        page.get_by_role("textbox", name="Hidden units: values").fill("8, 16")
        page.get_by_role("textbox", name="Hidden units: values").press("Enter")
        page.get_by_text("Training (fixed)").click()
        epochs = page.locator("input[type=range][aria-label=Epochs]")
        epochs.focus()
        epochs.press("Home")  # the slider's lowest value: 1 epoch
        plan = re.compile(r"2 runs: 2 configurations x 1 seed, each up to 1 epochs")
        expect(page.get_by_text(plan)).to_be_visible(timeout=30_000)
        page.screenshot(path=ARTIFACTS / "experiments-compose.png", full_page=True)
        press_until(
            page.get_by_role("button", name="Start experiment"),
            lambda: bool(list_experiments(runs_root)),
            "no experiment started",
        )

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
    assert _foreign(requested) == [], "the page fetched assets from outside this machine"
