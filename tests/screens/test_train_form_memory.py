"""The Train page's New run form shows the settings of the run on screen, across sessions.

Reported: after a reload during an audio run the form was back at its defaults (text)
while the run panel showed the audio run, so the next Start launched a text run. A
reload, another tab and a restarted server are each a new Streamlit session: here, each
is a fresh AppTest.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.config import make_config
from core.runs import folder
from tests.screens.apptest import fresh_train_session

AUDIO = {"hidden_size": 32, "lr": 3e-4, "max_epochs": 40, "dropout": 0.5, "window_s": 6.0}


def audio_run(root: Path, state: str, values: dict, seed: int, age_s: float = 0.0) -> Path:
    """A hand-made audio run folder (no training); an active one is this process's."""
    run_dir = folder.new_run_dir(root, "audio")
    folder.write_config(run_dir, make_config("audio", None, values, seed))
    folder.write_status(
        run_dir, state, None, owner=True, epoch=0, max_epochs=values.get("max_epochs", 30)
    )
    status = folder.read_json(run_dir / folder.STATUS)
    folder.write_json_atomic(run_dir / folder.STATUS, {**status, "started": time.time() - age_s})
    return run_dir


def fresh_session(corpus: Path) -> AppTest:
    """A new browser session on the Train page, with ``corpus`` chosen in the sidebar."""
    return fresh_train_session(corpus)


def form(at: AppTest) -> dict[str, object]:
    kinds = ("slider", "select_slider", "radio", "toggle", "multiselect")
    shown = {w.key: w.value for kind in kinds for w in getattr(at, kind)}
    return {
        "modality": at.button_group(key="train_modality").value,
        "seed": at.number_input(key="train_seed").value,
        **{name: shown.get(f"train_audio_{name}") for name in AUDIO},
    }


def assert_shows_the_audio_run(at: AppTest, seed: int) -> None:
    assert form(at) == {"modality": "audio", "seed": seed, **AUDIO}


@pytest.mark.parametrize("state", ["running", "stopped"])
def test_a_new_session_shows_the_settings_of_the_run_on_screen(
    runs_root: Path, small_corpus: Path, state: str
) -> None:
    run_dir = audio_run(runs_root, state, AUDIO, seed=5)
    at = fresh_session(small_corpus)  # a reload during (or after) the run
    assert at.selectbox(key="train_watch").value == str(run_dir)
    assert_shows_the_audio_run(at, seed=5)
    assert_shows_the_audio_run(fresh_session(small_corpus), seed=5)  # another reload


def test_the_form_follows_the_run_on_screen_not_the_newest_finished_one(
    runs_root: Path, small_corpus: Path
) -> None:
    audio_run(runs_root, "running", AUDIO, seed=2, age_s=60)
    finished = make_config("text", None, {"min_df": 3}, 0)
    text_dir = folder.new_run_dir(runs_root, "text")
    folder.write_config(text_dir, finished)
    folder.write_status(text_dir, "completed", "fitted", owner=False)
    at = fresh_session(small_corpus)  # the running run is on screen, so its settings
    assert_shows_the_audio_run(at, seed=2)


def test_a_changed_form_keeps_its_values_and_comes_back_after_another_page(
    runs_root: Path, small_corpus: Path
) -> None:
    audio_run(runs_root, "completed", AUDIO, seed=1)
    at = fresh_session(small_corpus)
    at.slider(key="train_audio_hidden_size").set_value(128).run()
    at.run()
    assert at.slider(key="train_audio_hidden_size").value == 128  # not reset to the run's
    at.switch_page("screens/runs.py").run()  # Streamlit forgets the widgets of this page
    at.switch_page("screens/train.py").run()
    assert not at.exception, at.exception
    assert at.slider(key="train_audio_hidden_size").value == 128
    assert at.button_group(key="train_modality").value == "audio"


def test_without_runs_the_form_shows_the_defaults(runs_root: Path, small_corpus: Path) -> None:
    at = fresh_session(small_corpus)
    assert at.button_group(key="train_modality").value == "text"


def test_an_experiments_search_run_is_not_the_run_a_new_session_shows(
    runs_root: Path, small_corpus: Path
) -> None:
    ordinary = audio_run(runs_root, "completed", AUDIO, seed=3)
    search = audio_run(runs_root, "running", {"hidden_size": 8, "max_epochs": 1}, seed=0)
    config = folder.read_config(search)
    folder.write_config(search, {**config, "experiment": {"name": "tiny", "role": "search"}})
    at = fresh_session(small_corpus)  # the search run is active, but one of many
    assert at.selectbox(key="train_watch").value == str(ordinary)
    assert_shows_the_audio_run(at, seed=3)


def test_with_only_search_runs_the_form_keeps_its_defaults(
    runs_root: Path, small_corpus: Path
) -> None:
    search = audio_run(runs_root, "completed", {"hidden_size": 8, "max_epochs": 1}, seed=0)
    config = folder.read_config(search)
    folder.write_config(search, {**config, "experiment": {"name": "tiny", "role": "search"}})
    at = fresh_session(small_corpus)
    assert at.selectbox(key="train_watch").value == str(search)  # shown, as the only run
    assert at.button_group(key="train_modality").value == "text"  # the form's defaults
    at.button_group(key="train_modality").set_value("audio").run()
    assert at.slider(key="train_audio_max_epochs").value != 1
