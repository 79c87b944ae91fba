"""Figures of the Data page, built from plain tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ui.data_figures import gender_figure, score_histogram_figure, shading_path, signals_figure


def test_shading_path_is_one_polygon_per_span():
    x, y = shading_path(np.array([[1.0, 2.0], [4.0, 6.0]]), -1.0, 3.0)
    np.testing.assert_array_equal(x, [1, 1, 2, 2, np.nan, 4, 4, 6, 6, np.nan])
    np.testing.assert_array_equal(y, [-1, 3, 3, -1, np.nan, -1, 3, 3, -1, np.nan])
    x, y = shading_path(np.empty((0, 2)), 0, 1)
    assert x.size == y.size == 0


def test_signals_figure_shades_each_panel_with_one_trace():
    tracks = pd.DataFrame({"time": np.arange(8) / 4, "F0": [np.nan, 100, 110, 120] * 2})
    tracks["VUV"] = np.linspace(0, 1, 8)
    spans = np.array([[0.1, 0.4], [0.9, 1.2], [1.5, 1.7]])
    figure = signals_figure(tracks, ["F0", "VUV"], spans)
    shading = [t for t in figure.data if t.fill == "toself"]
    assert len(shading) == 2 and len(figure.data) == 4  # shading and a line per panel
    assert [t.showlegend for t in shading] == [True, False]
    assert not figure.layout.shapes  # no per-turn layout shapes
    assert figure.layout.yaxis.title.text == "F0 (Hz, voiced)"
    low, high = figure.layout.yaxis.range
    assert low < 100 and high > 120
    plain = signals_figure(tracks, ["VUV"], np.empty((0, 2)))
    assert len(plain.data) == 1


def test_signals_figure_with_an_all_missing_column():
    tracks = pd.DataFrame({"time": [0.125, 0.375], "F0": [np.nan, np.nan]})
    figure = signals_figure(tracks, ["F0"], np.array([[0.0, 0.2]]))
    assert list(figure.layout.yaxis.range) == [0.0, 1.0]


def test_overview_figures_have_a_panel_or_bar_per_split():
    counts = pd.DataFrame(
        {
            "split": ["train", "train", "dev"],
            "score": [3, 12, 5],
            "label": ["not depressed", "depressed", "not depressed"],
            "count": [2, 1, 1],
        }
    )
    histogram = score_histogram_figure(counts, ["train", "dev", "test"])
    assert [a.text for a in histogram.layout.annotations][:3] == ["train", "dev", "test"]
    assert sum(t.showlegend for t in histogram.data) == 2  # one legend entry per label
    genders = pd.DataFrame(
        {"split": ["train", "dev"], "gender": ["female", "male"], "count": [3, 2]}
    )
    figure = gender_figure(genders, ["train", "dev", "test"])
    assert [list(t.y) for t in figure.data] == [[3, 0, 0], [0, 2, 0]]
