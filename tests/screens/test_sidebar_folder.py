"""The sidebar with a folder that does not exist, or one missing its split files."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.data import formats
from tests.screens.apptest import APP
from ui.common import FOLDER_LABEL


def open_data_page(folder: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["data_source"] = FOLDER_LABEL
    at.session_state["data_folder"] = folder
    at.run()
    assert not at.exception, at.exception
    return at


def every_text(at: AppTest) -> list[str]:
    kinds = ("error", "warning", "info", "success", "caption", "text", "markdown")
    return [str(e.value) for kind in kinds for e in at.get(kind)]


def test_a_missing_folder_is_one_plain_message_naming_it(tmp_path: Path):
    missing = tmp_path / "nonexistent" / "daic"
    at = open_data_page(str(missing))
    (error,) = at.sidebar.error
    assert "does not exist" in error.value and "nonexistent" in error.value
    assert not any("Errno" in t or "No such file" in t for t in every_text(at))
    (note,) = at.main.info
    assert "does not exist" in note.value and "Choose a corpus" not in note.value


def test_the_sidebar_counts_the_problems_the_table_lists(tmp_path: Path):
    from core.data.synth import write_corpus

    root = tmp_path / "daic"
    write_corpus(root, participants=6, minutes=0.2, seed=1)
    for name in (formats.TRAIN_LABELS, formats.DEV_LABELS, formats.TEST_LABELS_FULL):
        (root / name).unlink(missing_ok=True)
    at = open_data_page(str(root))
    (table,) = [d.value for d in at.dataframe if "problem" in d.value.columns]
    (warning,) = at.sidebar.warning
    noun = "problem" if len(table) == 1 else "problems"
    assert warning.value.startswith(f"{len(table)} {noun} ")
