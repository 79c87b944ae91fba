"""Plotly figures for the Explain and Predict pages (no streamlit here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.explain.names import feature_label
from core.explain.neural import SessionExplanation
from core.kinds.session import to_timeline

DEPRESSED_COLOUR = "#c0392b"
NOT_DEPRESSED_COLOUR = "#2471a3"
TURN_COLOUR = "rgba(39, 174, 96, 0.55)"
DIVERGING = "RdBu_r"  # red: towards "depressed", blue: towards "not depressed"


def _clock(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def _mark_turns(figure: go.Figure, turns: np.ndarray, span: tuple[float, float]) -> None:
    """Participant turns as a green strip above the plot area (one layout update)."""
    shapes = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": max(start, span[0]),
            "x1": min(stop, span[1]),
            "y0": 1.01,
            "y1": 1.05,
            "fillcolor": TURN_COLOUR,
            "line": {"width": 0},
        }
        for start, stop in turns
        if stop >= span[0] and start <= span[1]
    ]
    figure.update_layout(shapes=shapes)
    figure.add_annotation(
        xref="paper",
        yref="paper",
        x=0,
        y=1.06,
        xanchor="left",
        yanchor="bottom",
        showarrow=False,
        text="<span style='color:#27ae60'>■</span> participant speaking",
        font_size=11,
    )


def _layout(figure: go.Figure, title: str, y_title: str, height: int) -> go.Figure:
    figure.update_layout(
        title={"text": title, "y": 0.98},
        height=height,
        margin={"l": 10, "r": 10, "t": 70, "b": 40},
        xaxis_title="session time (s)",
        yaxis_title=y_title,
    )
    return figure


def _within(
    explanation: SessionExplanation, span: tuple[float, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Windows that reach into ``span`` (seconds), and their step times with the rest NaN."""
    times = explanation.windows.times
    if span is None:
        return np.ones(len(times), bool), times
    inside = (times >= span[0]) & (times <= span[1])  # NaN compares False
    return np.asarray(inside.any(axis=1)), np.where(inside, times, np.nan)


def window_heatmap(
    explanation: SessionExplanation, which: str, span: tuple[float, float] | None = None
) -> go.Figure:
    """One row per window, placed on the session timeline, coloured by attention or gate.

    Parameters
    ----------
    explanation : SessionExplanation
        A session's explanation.
    which : {"attention", "spatial"}
        Attention over time (shown as weight x steps, so 1 is uniform) or FaceSTRNN's
        spatial gate (0 to 1).
    span : tuple of float, optional
        Only this part of the session (seconds), at full time resolution when short.
    """
    windows = explanation.windows
    rows, times = _within(explanation, span)
    if which == "spatial":
        if explanation.spatial is None:
            raise ValueError("this model has no spatial gate (only FaceSTRNN has one)")
        values, label, zmin, zmax = explanation.spatial, "spatial gate", 0.0, 1.0
        title = "Spatial gate per time step (FaceSTRNN)"
    else:
        steps = explanation.attention.shape[1]
        values = explanation.attention * steps
        label, zmin, zmax = "attention × steps", 0.0, None
        title = "Attention over time within each window (1 = uniform)"
    centres, by_window, _ = to_timeline(values[rows], times[rows], windows.rate_hz)
    numbers = np.flatnonzero(rows)
    starts = np.nanmin(windows.times[rows], axis=1)
    figure = go.Figure(
        go.Heatmap(
            x=centres,
            y=[f"window {i + 1} ({_clock(s)})" for i, s in zip(numbers, starts, strict=True)],
            z=np.asarray(by_window, dtype=np.float32),
            zmin=zmin,
            zmax=zmax,
            colorscale="Viridis",
            colorbar={"title": label},
            hovertemplate="t=%{x:.1f}s<br>%{y}<br>" + label + "=%{z:.3f}<extra></extra>",
            hoverongaps=False,
        )
    )
    _mark_turns(figure, windows.turns, (float(centres[0]), float(centres[-1])))
    figure.update_yaxes(autorange="reversed", showticklabels=len(starts) <= 40)
    return _layout(figure, title, "window", 120 + 8 * min(len(starts), 60) + 140)


def attribution_heatmap(
    explanation: SessionExplanation, top: int = 20, span: tuple[float, float] | None = None
) -> go.Figure:
    """Features by time: Integrated Gradients averaged over the windows covering each bin.

    The ``top`` features by mean absolute attribution over the whole session; ``span``
    (seconds) limits the time axis.
    """
    windows = explanation.windows
    rows, times = _within(explanation, span)
    table = explanation.feature_table().head(top)
    columns = [windows.feature_names.index(f) for f in table["feature"]]
    values = explanation.attribution.values[rows][:, :, columns]  # (W', T, top)
    centres, _, mean = to_timeline(values, times[rows], windows.rate_hz)  # (C,), (C, top)
    limit = float(np.nanmax(np.abs(mean))) if np.isfinite(mean).any() else 1.0
    figure = go.Figure(
        go.Heatmap(
            x=centres,
            y=[feature_label(f) for f in table["feature"]],
            z=mean.T.astype(np.float32),
            zmid=0.0,
            zmin=-limit,
            zmax=limit,
            colorscale=DIVERGING,
            colorbar={"title": "log-odds"},
            hovertemplate="t=%{x:.1f}s<br>%{y}<br>attribution=%{z:.4f}<extra></extra>",
            hoverongaps=False,
        )
    )
    _mark_turns(figure, windows.turns, (float(centres[0]), float(centres[-1])))
    figure.update_yaxes(autorange="reversed")
    title = f"Integrated Gradients, top {len(table)} features (red: towards depressed)"
    return _layout(figure, title, "feature", 160 + 18 * len(table))


def _bar_figure(bar: go.Bar, title: str, x_title: str) -> go.Figure:
    """One horizontal bar chart, as tall as its rows need."""
    figure = go.Figure(bar)
    figure.update_layout(
        title=title,
        height=140 + 21 * len(bar.y),
        margin={"l": 10, "r": 10, "t": 70, "b": 40},
        xaxis_title=x_title,
    )
    return figure


def feature_bars(table: pd.DataFrame, top: int = 20) -> go.Figure:
    """One bar per feature: its contribution to a window's log-odds, averaged over windows.

    The ``top`` features by mean absolute attribution, most influential at the top.
    """
    rows = table.head(top).iloc[::-1]
    colours = [DEPRESSED_COLOUR if c > 0 else NOT_DEPRESSED_COLOUR for c in rows["contribution"]]
    bar = go.Bar(
        x=rows["contribution"],
        y=[feature_label(f) for f in rows["feature"]],
        orientation="h",
        marker_color=colours,
        customdata=np.stack([rows["magnitude"], rows["share"]], axis=1),
        hovertemplate="%{y}: %{x:.4f} log-odds<br>|attribution| %{customdata[0]:.4f} "
        "(%{customdata[1]:.1%} of all)<extra></extra>",
    )
    return _bar_figure(
        bar,
        f"Top {len(rows)} features: mean contribution to a window's log-odds"
        "<br>(red: towards depressed)",
        "log-odds per window, mean over windows",
    )


# The 68-point scheme's parts, drawn as outlines (closed parts repeat their first point).
FACE_PARTS = (
    list(range(0, 17)),  # jaw
    list(range(17, 22)),  # right brow
    list(range(22, 27)),  # left brow
    list(range(27, 31)),  # nose bridge
    list(range(31, 36)),  # nostrils
    [*range(36, 42), 36],  # right eye
    [*range(42, 48), 42],  # left eye
    [*range(48, 60), 48],  # outer lip
    [*range(60, 68), 60],  # inner lip
)


def landmark_face(points: pd.DataFrame) -> go.Figure:
    """The average face's 68 points, coloured and sized by their attribution."""
    magnitude = points["magnitude"].to_numpy()
    size = 6 + 18 * magnitude / magnitude.max() if magnitude.max() > 0 else np.full(68, 8.0)
    figure = go.Figure()
    for part in FACE_PARTS:
        figure.add_trace(
            go.Scatter(
                x=points["x"].to_numpy()[part],
                y=points["y"].to_numpy()[part],
                mode="lines",
                line={"color": "#bbb", "width": 1},
                hoverinfo="skip",
                showlegend=False,
            )
        )
    figure.add_trace(
        go.Scatter(
            x=points["x"],
            y=points["y"],
            mode="markers",
            marker={
                "size": size,
                "color": points["contribution"],
                "colorscale": DIVERGING,
                "cmid": 0.0,
                "colorbar": {"title": "log-odds"},
                "line": {"width": 0.5, "color": "#333"},
            },
            customdata=np.stack([points["point"], magnitude], axis=1),
            hovertemplate="point %{customdata[0]}<br>contribution %{marker.color:.4f}"
            "<br>|attribution| %{customdata[1]:.4f}<extra></extra>",
            showlegend=False,
        )
    )
    figure.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    figure.update_xaxes(visible=False)
    figure.update_layout(
        title="Landmarks on the average training face (size: |attribution|)",
        height=420,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return figure


def term_bars(table: pd.DataFrame) -> go.Figure:
    """Random Forest importance of the top n-grams, coloured by the class they point to."""
    rows = table.iloc[::-1]
    colours = [
        DEPRESSED_COLOUR if p == "depressed" else NOT_DEPRESSED_COLOUR for p in rows["points_to"]
    ]
    bar = go.Bar(
        x=rows["importance"],
        y=rows["term"],
        orientation="h",
        marker_color=colours,
        customdata=np.stack([rows["doc_freq"], rows["points_to"]], axis=1),
        hovertemplate="%{y}: importance %{x:.4f}<br>in %{customdata[0]} training documents"
        "<br>more frequent when %{customdata[1]}<extra></extra>",
    )
    return _bar_figure(
        bar,
        "Top n-grams by forest importance<br>(red: more used when depressed)",
        "mean decrease in impurity",
    )


def permutation_bars(table: pd.DataFrame) -> go.Figure:
    """Drop in held-out ROC AUC when each term's column is shuffled across participants."""
    rows = table.iloc[::-1]
    bar = go.Bar(
        x=rows["importance_mean"],
        y=rows["term"],
        orientation="h",
        error_x={"type": "data", "array": rows["importance_std"]},
        marker_color="#7f8c8d",
        hovertemplate="%{y}: AUC drop %{x:.4f}<extra></extra>",
    )
    return _bar_figure(
        bar,
        "Permutation importance on held-out participants<br>(drop in ROC AUC)",
        "AUC drop (mean ± sd over shuffles)",
    )
