"""End to end: an upload is deleted when its browser session ends, on a real server.

A real ``streamlit run app.py`` (its temporary folder private to the test, sessions that
may reconnect for 1 s) and headless Chromium: a session zip is uploaded on the Predict
page, the browser closes, and the upload's folder must go; the server's own uploads
folder goes when the server exits.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from tests.e2e.browser import (
    CHROMIUM,
    FLAGS,
    require_browser,
    serve,
    settled,
    shut_down,
    sync_playwright,
)
from tests.runs.helpers import wait_for

require_browser()

pytestmark = pytest.mark.slow


def _serve(tmp_path: Path):
    (tmp_path / "no-sample").write_text("a file: the sample cannot be generated here")
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp"), "DAIC_RUNS_ROOT": str(tmp_path / "runs")}
    env["DAIC_SAMPLE_DIR"] = str(tmp_path / "no-sample")  # uploads need no corpus
    return serve(env, tmp_path / "server.log", "--server.disconnectedSessionTTL", "1")


def test_an_upload_goes_when_its_browser_session_ends(planted_corpus, tmp_path):
    (tmp_path / "tmp").mkdir()
    upload = tmp_path / "900_P.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        for path in sorted((planted_corpus / "900_P").iterdir()):
            archive.write(path, path.name)
    server, url = _serve(tmp_path)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page()
            page.goto(f"{url}/predict")
            page.get_by_text("Research software, not a diagnostic device").first.wait_for()
            settled(page)
            page.get_by_text("An uploaded session (zip)").click()
            settled(page)
            page.locator("input[type=file]").set_input_files(str(upload))
            page.get_by_text("Uploaded participant 900").wait_for(timeout=120_000)
            (kept,) = (tmp_path / "tmp").rglob("900_P.zip")
            browser.close()  # the session ends
        wait_for(lambda: not kept.exists(), 30, "the upload to be deleted", poll_s=0.2)
        assert kept.parent.parent.exists()  # the server's folder stays while it runs
    finally:
        shut_down(server)
    assert list((tmp_path / "tmp").glob("daic-uploads-*")) == []  # gone with the server
