"""Start answers at once, and one press starts one run.

Reported: on a loaded machine Start seemed to do nothing for 20-50 s, and a second press
could start a second run. Now the press is answered in the same page run (the run is on
screen as *starting*, saying what it does), and Start stays off while that run starts
or runs; a press that reaches the server anyway is refused with a message.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.config import make_config
from core.runs import folder, manager
from tests.screens.apptest import fresh_train_session


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Runs that Start launched: set up as the manager does, without a process.

    Their status is *starting*, written before a launch, so they count as active for
    the manager's launch grace (30 s).
    """
    runs: list[Path] = []

    def start_run(modality, values, data_root, seed, root, sources):
        run_dir = folder.new_run_dir(root, modality)
        folder.write_config(run_dir, make_config(modality, data_root, values, seed, sources))
        folder.write_status(run_dir, "starting", None, owner=False, modality=modality)
        runs.append(run_dir)
        return run_dir

    monkeypatch.setattr(manager, "start_run", start_run)
    return runs


@pytest.fixture
def open_page(small_corpus: Path) -> Callable[[], AppTest]:
    def open_() -> AppTest:
        return fresh_train_session(small_corpus)

    return open_


def texts(elements) -> str:
    return " | ".join(e.value for e in elements)


def test_start_shows_the_run_starting_in_the_same_page_run(
    runs_root: Path, open_page: Callable[[], AppTest], started: list[Path]
) -> None:
    at = open_page()
    at.button_group(key="train_modality").set_value("audio").run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    (run_dir,) = started
    assert at.session_state["train_run"] == str(run_dir)
    assert at.selectbox(key="train_watch").value == str(run_dir)
    assert "starting" in texts(at.markdown)
    assert "Starting" in texts(at.caption) and "launching its process" in texts(at.caption)
    assert "Starting a new audio run" in texts(at.toast)  # from the press's callback


def test_a_second_press_never_starts_a_second_run(
    runs_root: Path, open_page: Callable[[], AppTest], started: list[Path]
) -> None:
    at = open_page()
    at.button(key="train_start").click().run()
    assert len(started) == 1
    assert at.button(key="train_start").disabled
    assert "Start is off while the run on screen" in texts(at.caption)


def test_a_press_that_left_before_start_was_turned_off_is_refused(
    runs_root: Path, open_page: Callable[[], AppTest], started: list[Path]
) -> None:
    at = open_page()  # Start is on in this browser
    first = manager.start_run("text", {}, None, 0, runs_root, None)  # the first press's run,
    at.session_state["train_run"] = str(first)  # watched, but not drawn in this browser yet
    at.button(key="train_start").click().run()  # the second press
    assert not at.exception, at.exception
    assert started == [first]
    assert "Not started: Start is off while the run on screen" in texts(at.warning)


def test_start_is_on_again_once_the_run_has_ended(
    runs_root: Path, open_page: Callable[[], AppTest], started: list[Path]
) -> None:
    at = open_page()
    at.button(key="train_start").click().run()
    (run_dir,) = started
    folder.write_status(run_dir, "completed", "fitted", owner=False)
    at.run()
    assert not at.button(key="train_start").disabled
    at.button(key="train_start").click().run()
    assert len(started) == 2


def test_a_new_session_during_a_running_run_has_start_off(
    runs_root: Path, open_page: Callable[[], AppTest]
) -> None:
    run_dir = folder.new_run_dir(runs_root, "audio")
    folder.write_config(run_dir, make_config("audio", None, {}, 0))
    folder.write_status(run_dir, "running", None, owner=True)  # this process: alive
    at = open_page()
    assert at.button(key="train_start").disabled
    assert run_dir.name in texts(at.caption)
