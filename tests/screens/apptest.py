"""Opening a page of the app through AppTest with a corpus folder chosen in the sidebar."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui.common import FOLDER_LABEL

APP = Path(__file__).resolve().parents[2] / "app.py"


def open_page(page: str, corpus_root: Path, **state) -> AppTest:
    """Run ``screens/<page>.py`` inside app.py; no exception, and the page's own title."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["data_source"] = FOLDER_LABEL
    at.session_state["data_folder"] = str(corpus_root)
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(f"screens/{page}.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == page.capitalize()
    return at


def fresh_train_session(corpus_root: Path) -> AppTest:
    """A new browser session on the Train page (as after a reload), ``corpus_root`` chosen.

    The app runs once first, as a browser's first page does, then switches to Train.
    """
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state["data_source"] = FOLDER_LABEL
    at.session_state["data_folder"] = str(corpus_root)
    at.run()
    at.switch_page("screens/train.py").run()
    assert not at.exception, at.exception
    return at


def chart_titles(at: AppTest) -> list[str]:
    """The titles of the Plotly charts on the page, in order."""
    specs = [json.loads(element.proto.spec) for element in at.get("plotly_chart")]
    return [spec["layout"].get("title", {}).get("text", "") for spec in specs]
