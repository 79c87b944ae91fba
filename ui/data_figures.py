"""Plotly figures of the Data page, built from plain tables and arrays (no Streamlit).

Participant turns are shaded with one filled trace per panel (a polygon per turn, joined
by gaps), not one layout shape per turn: a real session has a few hundred turns, and
hundreds of shapes make every zoom and pan slow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

LABEL_COLOURS: dict[str, str] = {
    "depressed": "#d62728",
    "not depressed": "#1f77b4",
    "unknown": "#9e9e9e",
}
GENDER_COLOURS: dict[str, str] = {"female": "#9467bd", "male": "#2ca02c", "unknown": "#9e9e9e"}
TURN_FILL = "rgba(255, 165, 0, 0.18)"
LINE_COLOUR = "#1f4e79"

FEATURE_TITLES: dict[str, str] = {
    "F0": "F0 (Hz, voiced)",
    "VUV": "voiced share",
    "NAQ": "NAQ (voiced)",
    "QOQ": "QOQ (voiced)",
    "H1H2": "H1-H2 dB (voiced)",
    "PSP": "PSP (voiced)",
    "MDQ": "MDQ (voiced)",
    "peakSlope": "peak slope (voiced)",
    "Rd": "Rd (voiced)",
    "face_found": "face found",
}
"""Axis titles of the signals that need a unit or a caveat; others show their name."""

PHQ8_CUTOFF = 10


def score_histogram_figure(counts: pd.DataFrame, splits: Sequence[str]) -> go.Figure:
    """PHQ-8 scores per split, stacked by binary label.

    Parameters
    ----------
    counts : pandas.DataFrame
        :func:`core.data.overview.score_histogram` (``split``, ``score``, ``label``,
        ``count``).
    splits : sequence of str
        The panels, left to right (a split without scores gets an empty panel).
    """
    splits = list(splits) or ["-"]
    figure = make_subplots(
        rows=1, cols=len(splits), shared_yaxes=True, subplot_titles=splits, horizontal_spacing=0.03
    )
    for col, split in enumerate(splits, start=1):
        in_split = counts[counts["split"] == split]
        for label, colour in LABEL_COLOURS.items():
            rows = in_split[in_split["label"] == label]
            if rows.empty:
                continue
            figure.add_trace(
                go.Bar(
                    x=rows["score"],
                    y=rows["count"],
                    name=label,
                    marker_color=colour,
                    legendgroup=label,
                    showlegend=label not in {t.name for t in figure.data},
                    hovertemplate=f"{split}, {label}<br>PHQ-8 %{{x}}: %{{y}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
        figure.add_vline(x=PHQ8_CUTOFF - 0.5, line_dash="dot", line_color="#555555", row=1, col=col)
    figure.update_layout(
        barmode="stack",
        bargap=0.1,
        height=300,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.25},
    )
    figure.update_xaxes(range=[-0.5, 24.5], title_text="PHQ-8 score")
    figure.update_yaxes(title_text="participants", row=1, col=1)
    return figure


def gender_figure(counts: pd.DataFrame, splits: Sequence[str]) -> go.Figure:
    """Participants per split and gender, grouped bars.

    Parameters
    ----------
    counts : pandas.DataFrame
        :func:`core.data.overview.gender_counts` (``split``, ``gender``, ``count``).
    splits : sequence of str
        The splits along the x axis, in order.
    """
    figure = go.Figure()
    for gender, colour in GENDER_COLOURS.items():
        rows = counts[counts["gender"] == gender].set_index("split").reindex(list(splits))
        if rows["count"].isna().all():
            continue
        figure.add_trace(
            go.Bar(x=list(splits), y=rows["count"].fillna(0), name=gender, marker_color=colour)
        )
    figure.update_layout(
        barmode="group",
        height=300,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis_title="participants",
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def shading_path(spans: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Outline of one rectangle per span, for a single ``fill="toself"`` trace.

    Parameters
    ----------
    spans : numpy.ndarray
        ``(k, 2)`` start and stop times.
    low, high : float
        Bottom and top of every rectangle.

    Returns
    -------
    x, y : numpy.ndarray
        Shape ``(5 k,)`` each: the four corners of each rectangle then a NaN gap (plotly
        closes each gap-separated piece into its own polygon).
    """
    spans = np.asarray(spans, np.float64).reshape(-1, 2)
    starts, stops = spans[:, :1], spans[:, 1:]  # (k, 1)
    gap = np.full_like(starts, np.nan)
    x = np.hstack([starts, starts, stops, stops, gap]).ravel()  # (5 k,)
    y = np.tile([low, high, high, low, np.nan], len(spans))  # (5 k,)
    return x, y


def _value_range(values: np.ndarray) -> tuple[float, float]:
    """The panel's y range: the data's extent plus 5 % (0 to 1 when nothing is finite)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    pad = 0.05 * (high - low) or 0.5
    return low - pad, high + pad


def signals_figure(
    tracks: pd.DataFrame,
    columns: Sequence[str],
    spans: np.ndarray | None = None,
    titles: Mapping[str, str] | None = None,
) -> go.Figure:
    """Signals over time, one panel per column, participant turns shaded behind them.

    Parameters
    ----------
    tracks : pandas.DataFrame
        ``time`` (s) and the signal columns, e.g. :func:`core.data.overview.audio_tracks`.
    columns : sequence of str
        The columns to plot, top to bottom.
    spans : numpy.ndarray, optional
        ``(k, 2)`` participant turns to shade (none when omitted or empty).
    titles : mapping, optional
        Axis title per column; defaults to :data:`FEATURE_TITLES`, then the name.
    """
    titles = {**FEATURE_TITLES, **(titles or {})}
    columns = list(columns)
    figure = make_subplots(
        rows=max(len(columns), 1), cols=1, shared_xaxes=True, vertical_spacing=0.03
    )
    time = tracks["time"].to_numpy()
    shade = spans if spans is not None and len(spans) > 0 else None
    for row, column in enumerate(columns, start=1):
        values = tracks[column].to_numpy(np.float64)
        low, high = _value_range(values)
        if shade is not None:
            x, y = shading_path(shade, low, high)
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    fill="toself",
                    fillcolor=TURN_FILL,
                    line={"width": 0},
                    mode="lines",
                    name="participant speaking",
                    legendgroup="turns",
                    showlegend=row == 1,
                    hoverinfo="skip",
                ),
                row=row,
                col=1,
            )
        figure.add_trace(
            go.Scatter(
                x=time,
                y=values,
                mode="lines",
                name=column,
                line={"width": 1.2, "color": LINE_COLOUR},
                showlegend=False,
                hovertemplate=f"{column}: %{{y:.3g}}<br>%{{x:.1f}} s<extra></extra>",
            ),
            row=row,
            col=1,
        )
        figure.update_yaxes(
            title_text=titles.get(column, column), range=[low, high], row=row, col=1
        )
    figure.update_xaxes(title_text="time (s)", row=max(len(columns), 1), col=1)
    figure.update_layout(
        height=80 + 150 * max(len(columns), 1),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        hovermode="x unified",
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"},
    )
    return figure
