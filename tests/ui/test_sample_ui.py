"""The first page while the bundled sample is generated: at once, with progress, once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data import sample, storage
from ui.common import CORPUS, sample_job, stored_summary

APP = Path(__file__).resolve().parents[2] / "app.py"
TINY = {"participants": 6, "minutes": 0.2, "seed": 0}


@pytest.fixture
def gate(monkeypatch, tmp_path):
    """A sample folder of this test, and generation held until the test opens the gate.

    Yields ``(event, calls)``: setting ``event`` lets the (tiny) generation finish;
    ``calls`` counts how many generations began.
    """
    monkeypatch.setenv(storage.SAMPLE_ENV, str(tmp_path / "sample"))
    monkeypatch.setenv(storage.CACHE_ENV, str(tmp_path / "frames"))
    monkeypatch.setattr(storage, "LEGACY_FOLDERS", (tmp_path / "old1", tmp_path / "old2"))
    monkeypatch.setattr(sample, "SAMPLE_SETTINGS", TINY)
    event, calls, real = threading.Event(), [], sample.write_corpus

    def held(out, progress=None, **kwargs):
        calls.append(out)
        if progress is not None:
            progress(1, 6)
        assert event.wait(60), "the test never released the generation"
        return real(out, progress=progress, **kwargs)

    monkeypatch.setattr(sample, "write_corpus", held)
    stored_summary.clear()
    yield event, calls
    event.set()
    sample_job(str(sample.sample_root())).wait(60)


def open_app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=30).run()


def main_texts(at: AppTest) -> str:
    return " ".join(e.value for e in [*at.main.info, *at.main.error])


def test_the_first_page_shows_progress_while_the_sample_is_generated(gate):
    event, calls = gate
    at = open_app()  # returns although the generation is held: nothing waits for it
    assert not at.exception, at.exception
    assert at.title[0].value == "Data"
    assert "is being generated" in main_texts(at)
    (bar,) = at.get("progress")
    assert "/6 sessions" in bar.proto.text
    assert any("being generated" in c.value for c in at.sidebar.caption)
    assert at.session_state[CORPUS] is None

    at2 = open_app()  # a second browser tab or session
    assert "is being generated" in main_texts(at2)
    assert len(calls) == 1  # ... does not start a second generation

    event.set()
    sample_job(str(sample.sample_root())).wait(60)
    at.run()
    assert not at.exception, at.exception
    assert not at.get("progress") and "being generated" not in main_texts(at)
    assert at.session_state[CORPUS].root == sample.sample_root()
    assert any("dep.)" in c.value for c in at.sidebar.caption)
    assert len(calls) == 1


def test_a_failed_generation_says_why_and_can_be_retried(gate, monkeypatch):
    event, calls = gate
    event.set()
    held = sample.write_corpus

    def full_disk(out, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sample, "write_corpus", full_disk)
    at = open_app()
    sample_job(str(sample.sample_root())).wait(60)
    at.run()
    assert "No space left on device" in main_texts(at)
    assert not sample.sample_ready()
    monkeypatch.setattr(sample, "write_corpus", held)
    at.button(key="sample_retry").click().run()
    sample_job(str(sample.sample_root())).wait(60)
    at.run()
    assert sample.sample_ready() and at.session_state[CORPUS] is not None


def test_the_sidebar_says_where_the_sample_and_cache_are_and_how_to_clear_them(gate):
    event, _ = gate
    event.set()
    sample.ensure_sample()
    at = open_app()
    (expander,) = [e for e in at.sidebar.expander if e.label.startswith("Sample and cache: ")]
    size = storage.size_of(sample.sample_root().parent)
    assert storage.human_size(size) in expander.label
    text = " ".join(c.value for c in expander.caption)
    assert str(sample.sample_root().parent) in text and "clear-cache" in text
