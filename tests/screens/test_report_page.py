"""The Report page through AppTest: a real text run's model card, shown and downloadable."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from tests.screens.apptest import open_page


@pytest.fixture
def report_root(trained_runs: dict[str, Path], runs_root: Path) -> Path:
    """A runs root holding a copy of the session's trained text run (its audit untrained)."""
    shutil.copytree(trained_runs["text"], runs_root / "text")
    return runs_root


def test_without_runs_the_page_says_what_to_do(planted_corpus, runs_root):
    at = open_page("report", planted_corpus)
    assert "No run with a saved model" in at.info[0].value
    assert not at.get("download_button")


def test_the_page_shows_the_card_it_offers_as_a_download(planted_corpus, report_root, monkeypatch):
    stored: dict[str, bytes | str] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        stored[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    at = open_page("report", planted_corpus, report_calibration="isotonic")
    assert at.selectbox(key="report_target").value == str(report_root / "text")
    at.button(key="report_build").click().run()  # a card is built only when asked for
    assert not at.exception, at.exception
    assert at.get("download_button")[0].label == "Download the model card (HTML)"
    (name,) = [n for n in stored if n and n.endswith(".html")]
    page = stored[name]
    page = page.decode() if isinstance(page, bytes) else page
    sections = [html.unescape(t) for t in re.findall(r"<h2>(.*?)</h2>", page)]
    assert [h.value for h in at.main.header] == sections
    assert "Shortcut audit" in sections and "Subgroups" in sections
    assert len(at.get("plotly_chart")) == page.count('class="chart"') >= 5
    text = " ".join(m.value for m in at.markdown) + " ".join(w.value for w in at.warning)
    assert "not trained yet" in text  # the audit's variants are trained only when asked
    assert "isotonic regression" in text
    assert not (report_root / "text.report" / "audit" / "speakers-both").exists()
