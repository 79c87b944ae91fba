"""The Train page's plain helpers: slider stops, durations, and why settings cannot start."""

from __future__ import annotations

from ui.train_settings import decimals, log_grid, settings_problem
from ui.train_views import duration


def test_log_grid_has_1_2_3_5_per_decade_and_the_default() -> None:
    assert log_grid(1e-3, 1e-1, 2.5e-3) == [
        1e-3,
        2e-3,
        2.5e-3,
        3e-3,
        5e-3,
        1e-2,
        2e-2,
        3e-2,
        5e-2,
        0.1,
    ]


def test_decimals_show_a_step_exactly() -> None:
    assert [decimals(s) for s in (1.0, 0.5, 0.05, 10.0)] == [0, 1, 2, 0]


def test_duration_in_words() -> None:
    assert [duration(s) for s in (None, float("nan"), 12.4, 185, 3720)] == [
        "—",
        "—",
        "12 s",
        "3 min 05 s",
        "1 h 02 min",
    ]


def test_settings_problem_names_what_is_wrong() -> None:
    assert settings_problem("text", {"min_df": 2}) is None
    assert settings_problem("face", {"face_features": []}) == (
        "choose at least one of the facial feature sets."
    )
    assert "hidden_size 4: outside the allowed range 8 to 256" in settings_problem(
        "audio", {"hidden_size": 4}
    )
