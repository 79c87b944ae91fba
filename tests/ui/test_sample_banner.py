"""While the bundled sample is generated, the page says how far it is and how long it takes.

Reported: generation took about 110 s on a loaded machine while the banner said "about
half a minute" (and the README 10-30 s). The banner now counts the sessions written and
gives the measured range, saying that it depends on the load.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data import sample, storage
from ui.common import sample_job, stored_summary

APP = Path(__file__).resolve().parents[2] / "app.py"
TINY = {"participants": 6, "minutes": 0.2, "seed": 0}


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> threading.Event:
    """A sample folder of this test whose (tiny) generation waits, after writing 2 of 6
    sessions, until the test sets the event it yields."""
    monkeypatch.setenv(storage.SAMPLE_ENV, str(tmp_path / "sample"))
    monkeypatch.setenv(storage.CACHE_ENV, str(tmp_path / "frames"))
    monkeypatch.setattr(storage, "LEGACY_FOLDERS", (tmp_path / "old1", tmp_path / "old2"))
    monkeypatch.setattr(sample, "SAMPLE_SETTINGS", TINY)
    event, real = threading.Event(), sample.write_corpus

    def write_corpus(out, progress=None, **kwargs):
        if progress is not None:
            progress(1, 6)
            progress(2, 6)
        assert event.wait(60), "the test never released the generation"
        return real(out, progress=progress, **kwargs)

    monkeypatch.setattr(sample, "write_corpus", write_corpus)
    stored_summary.clear()
    yield event
    event.set()
    sample_job(str(sample.sample_root())).wait(60)


def test_the_banner_counts_the_sessions_written_and_says_how_long_it_takes(
    held: threading.Event,
) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    job = sample_job(str(sample.sample_root()))
    deadline = time.monotonic() + 30
    while job.done < 2:  # the generation thread reports its two sessions
        assert time.monotonic() < deadline, "the generation never reported its progress"
        time.sleep(0.05)
    at.run()
    assert not at.exception, at.exception
    (banner,) = [i.value for i in at.main.info if "being generated" in i.value]
    assert "2 of 6 sessions written" in banner
    assert sample.GENERATION_TIME in banner and "load" in sample.GENERATION_TIME
    assert "half a minute" not in banner


def test_the_readme_states_the_measured_time() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert sample.GENERATION_TIME in " ".join(readme.split())
