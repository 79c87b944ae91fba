"""What a starting run is doing, from its status and launcher files."""

from __future__ import annotations

from core.runs.progress import starting_phase, state_note


def test_each_step_of_a_start_is_named() -> None:
    written = {"state": "starting", "owned": False, "heartbeat": 100.0}
    assert starting_phase(written, {}) == "launching its process"
    assert starting_phase(written, {"time": 90.0}) == "launching its process"  # an old launch
    assert starting_phase(written, {"time": 100.5}) == "starting Python and loading PyTorch"
    owned = {"state": "starting", "owned": True, "pid": 7, "heartbeat": 103.0}
    assert starting_phase(owned, {"time": 100.5, "pid": 7}) == (
        "reading the corpus and preparing the data"
    )
    assert starting_phase({**owned, "phase": "reading sessions: 3 of 24"}, {}) == (
        "reading sessions: 3 of 24"
    )


def test_a_starting_run_says_for_how_long_it_has_been_starting() -> None:
    owned = {"state": "starting", "owned": True, "pid": 7, "heartbeat": 103.0}
    level, text = state_note(owned, {"time": 100.0, "pid": 7}, now=112.0)
    assert (level, text) == (
        "caption",
        "Starting, 12 s so far: reading the corpus and preparing the data.",
    )
    other = state_note(owned, {"time": 100.0, "pid": 8}, now=112.0)  # another process's launch
    assert other == ("caption", "Starting: reading the corpus and preparing the data.")
