"""Explanation figures built from a hand-made explanation (no model)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.explain.attribution import Attribution
from core.explain.neural import SessionExplanation
from core.kinds.session import SessionWindows
from ui.explain_figures import (
    attribution_heatmap,
    feature_bars,
    landmark_face,
    term_bars,
    window_heatmap,
)
from ui.explain_views import highlighted_line


def explanation(n_windows: int = 6, steps: int = 10, rate: float = 10.0) -> SessionExplanation:
    """Windows with 50 % overlap from t = 0.05 s, two features, known values."""
    starts = np.arange(n_windows) * (steps // 2)
    times = ((starts[:, None] + np.arange(steps)) + 0.5) / rate  # (W, T)
    values = np.zeros((n_windows, steps, 2), np.float32)
    values[:, :, 0] = 1.0  # feature "a" pushes towards depressed at every step
    values[:, :, 1] = -0.1
    windows = SessionWindows(
        pid=1,
        x=np.zeros((n_windows, steps, 2), np.float32),
        times=times.astype(np.float32),
        feature_names=["a", "b"],
        rate_hz=rate,
        turns=np.array([[0.0, 1.0], [2.0, 2.5], [100.0, 101.0]]),
        notes=[],
    )
    attribution = Attribution(
        values=values,
        delta=np.zeros(n_windows),
        output=np.ones(n_windows),
        baseline_output=np.zeros(n_windows),
        n_gradients=np.full(n_windows, 8),
        converged=np.ones(n_windows, bool),
    )
    attention = np.full((n_windows, steps), 1.0 / steps)
    return SessionExplanation(
        windows, np.full(n_windows, 0.7), attention, np.full((n_windows, steps), 0.5), attribution
    )


def test_window_heatmap_has_one_row_per_window_and_marks_turns_in_view():
    figure = window_heatmap(explanation(), "attention")
    heatmap = figure.data[0]
    assert len(heatmap.y) == 6
    z = np.asarray(heatmap.z, dtype=float)
    assert np.nanmax(z) == np.nanmin(z) == 1.0  # uniform attention shows as 1
    assert len(figure.layout.shapes) == 2  # the turn at 100 s lies outside the session


def test_span_keeps_only_windows_inside_it():
    figure = window_heatmap(explanation(), "spatial", span=(0.0, 0.4))
    assert list(figure.data[0].y) == ["window 1 (0:00)"]
    assert max(figure.data[0].x) <= 0.4


def test_attribution_heatmap_orders_features_by_magnitude():
    figure = attribution_heatmap(explanation(), top=2)
    assert list(figure.data[0].y) == ["a", "b"]
    z = np.asarray(figure.data[0].z, dtype=float)
    np.testing.assert_allclose(z[0], 1.0)
    assert figure.data[0].zmid == 0.0


def test_feature_bars_show_as_many_features_as_asked_and_say_so():
    table = pd.DataFrame(
        {
            "feature": [f"f{i}" for i in range(30)],
            "contribution": np.linspace(1.0, -1.0, 30),
            "magnitude": np.linspace(3.0, 0.1, 30),
            "share": np.full(30, 1 / 30),
        }
    )
    figure = feature_bars(table, top=20)
    assert len(figure.data[0].y) == 20
    assert figure.layout.title.text.startswith("Top 20 features")
    assert "per window" not in figure.layout.title.text
    assert len(feature_bars(table.head(3), top=20).data[0].y) == 3


def test_feature_bars_colour_by_direction():
    table = explanation().feature_table()
    bars = feature_bars(table).data[0]
    colours = dict(zip(bars.y, bars.marker.color, strict=True))
    assert colours["a"] != colours["b"]


def test_landmark_face_draws_68_points_and_part_outlines():
    points = pd.DataFrame(
        {
            "point": range(68),
            "x": np.cos(np.arange(68)),
            "y": np.sin(np.arange(68)),
            "contribution": np.linspace(-1, 1, 68),
            "magnitude": np.linspace(0, 1, 68),
        }
    )
    figure = landmark_face(points)
    assert len(figure.data[-1].x) == 68
    assert len(figure.data) == 10  # nine outlines and the points


def test_term_bars_and_highlighting_escape_text():
    table = pd.DataFrame(
        {
            "term": ["sad", "fun"],
            "importance": [0.2, 0.1],
            "doc_freq": [3, 4],
            "points_to": ["depressed", "not depressed"],
        }
    )
    assert list(term_bars(table).data[0].y) == ["fun", "sad"]
    html = highlighted_line("<b>so sad</b>", [(6, 9, "sad")], {"sad": "depressed"})
    assert html.startswith("&lt;b&gt;so <mark")
    assert ">sad</mark>&lt;/b&gt;" in html
