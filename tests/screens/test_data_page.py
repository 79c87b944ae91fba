"""The Data page through AppTest: app.py with a corpus folder chosen in the sidebar."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.data import Corpus, formats
from ui.common import FOLDER_LABEL

APP = Path(__file__).resolve().parents[2] / "app.py"


def open_app(root: Path | str) -> AppTest:
    """Run app.py (the Data page is the default) with ``root`` typed in the sidebar.

    The folder is chosen through the sidebar widgets' session state before the first run,
    so the bundled sample is never generated.
    """
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state["data_source"] = FOLDER_LABEL
    at.session_state["data_folder"] = str(root)
    at.run()
    assert not at.exception, at.exception
    return at


def problems_table(at: AppTest) -> pd.DataFrame | None:
    frames = [d.value for d in at.dataframe if "problem" in d.value.columns]
    return frames[0] if frames else None


@pytest.fixture
def broken_corpus(small_corpus: Path, tmp_path: Path) -> tuple[Path, int]:
    """A copy of the small corpus whose second participant has a garbage COVAREP file."""
    root = tmp_path / "broken"
    shutil.copytree(small_corpus, root)
    pid = Corpus(root).ids()[1]
    path = root / formats.session_folder(pid) / formats.session_file(pid, "covarep")
    path.write_bytes(b"this is not,a COVAREP file\n\x00\x01garbage\n")
    return root, pid


def test_overview_and_participant_view(small_corpus):
    corpus = Corpus(small_corpus)
    at = open_app(small_corpus)
    assert not at.error
    assert at.title[0].value == "Data"
    assert any("Research software" in c.value for c in at.caption)
    metrics = {m.label: m for m in at.metric}
    for split, counts in corpus.splits().items():
        metric = metrics[f"{split} participants"]
        assert metric.value == str(counts["n"])
        assert metric.delta == f"{counts['depressed'] / counts['n']:.0%} depressed"
    assert [t.label for t in at.tabs] == ["Transcript", "Speech (COVAREP)", "Face (CLNF AUs)"]
    assert len(at.get("plotly_chart")) == 4  # histogram, gender, speech, face
    assert at.multiselect(key="data_audio").value == ["F0", "VUV", "NAQ", "H1H2"]
    assert at.multiselect(key="data_face").value == ["AU12_r", "AU04_r", "AU06_r"]
    assert any("participant's" in c.value for c in at.caption)  # says what models read

    chooser = at.selectbox(key="data_participant")
    assert chooser.value == corpus.ids()[0]
    other = corpus.ids()[5]
    chooser.set_value(other).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="data_participant").value == other
    transcript = corpus.transcript(other)
    lines = (transcript["speaker"] == formats.PARTICIPANT).sum()
    assert {m.label: m.value for m in at.metric}["Participant lines"] == str(lines)

    at.multiselect(key="data_face").set_value([]).run()
    assert not at.exception
    assert any("at least one face feature" in i.value for i in at.info)


def test_a_broken_session_file_is_named_not_raised(broken_corpus):
    root, pid = broken_corpus
    at = open_app(root)
    assert not at.error  # the first participant is fine
    assert problems_table(at) is None  # the quick view parses no session file

    at.selectbox(key="data_participant").set_value(pid).run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert messages == ["Cannot show the speech features:"]
    assert any(f"{pid}_COVAREP.csv" in t.value for t in at.text)  # named, as text
    assert len(at.get("plotly_chart")) == 3  # the face view still shows
    assert {m.label for m in at.metric} >= {"Participant lines"}  # and the transcript

    at.button(key="data_run_check").click().run()
    assert not at.exception
    problems = problems_table(at)
    assert problems is not None
    flagged = problems[problems["participant"] == str(pid)]
    assert flagged["problem"].str.contains(f"{pid}_COVAREP.csv").any()
    at.selectbox(key="data_participant").set_value(Corpus(root).ids()[0]).run()
    assert problems_table(at).equals(problems)  # the report stays until the files change


def test_no_corpus_ends_the_page_politely():
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state["data_source"] = FOLDER_LABEL
    at.run()
    assert not at.exception
    assert any("Choose a corpus" in i.value for i in at.info)


def test_tables_say_gender_and_label_in_words_and_no_two_columns_share_a_heading(small_corpus):
    at = open_app(small_corpus)
    (participants,) = [d.value for d in at.dataframe if "modalities" in d.value.columns]
    assert set(participants["gender"]) <= {"female", "male", "unknown"}
    assert set(participants["label"]) <= {"depressed", "not depressed", "unknown"}
    (summary,) = [d for d in at.dataframe if "depressed_share" in d.value.columns]
    config = json.loads(summary.proto.columns)
    headings = [config.get(c, {}).get("label", c) for c in summary.value.columns]
    assert len(headings) == len(set(headings)), headings


CRAFTED = "![seen](http://127.0.0.1:9/pixel.png) [click](http://127.0.0.1:9/)"
"""A member name that, rendered as Markdown, would show a remote image and a link."""


def markdown_texts(at: AppTest) -> list[str]:
    """The text of every element of the page that renders Markdown."""
    kinds = ("markdown", "caption", "error", "warning", "info", "success", "title", "header")
    texts = [element.value for kind in kinds for element in at.get(kind)]
    return texts + [element.value for element in at.get("subheader")]


def test_a_crafted_member_name_is_shown_as_text_never_as_markdown(small_corpus, tmp_path):
    root = tmp_path / "crafted"
    shutil.copytree(small_corpus, root)
    pid = Corpus(root).ids()[0]
    session = root / formats.session_folder(pid)
    with zipfile.ZipFile(session.with_suffix(".zip"), "w") as archive:
        for path in sorted(session.iterdir()):
            name = path.name
            if name == formats.session_file(pid, "covarep"):
                name = f"{CRAFTED}/{name}"  # a damaged file, inside a crafted folder
                archive.writestr(name, b"not,a COVAREP file\n")
            else:
                archive.write(path, name)
    shutil.rmtree(session)
    at = open_app(root)
    at.selectbox(key="data_participant").set_value(pid).run()
    assert not at.exception, at.exception
    assert "Cannot show the speech features:" in [e.value for e in at.error]
    assert any(CRAFTED in t.value for t in at.text)
    assert not [text for text in markdown_texts(at) if "127.0.0.1:9" in text]
