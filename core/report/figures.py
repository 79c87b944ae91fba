"""The report's Plotly figures, built from the plain values of its sections.

The same figures go into the HTML file and onto the Report screen. Plotly reads a few
HTML tags in titles and labels, so every text that may come from data (participant IDs,
terms, feature names, group names) is escaped with :func:`html.escape` first; Plotly
shows the entities as the characters they stand for.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

HEIGHT = 360
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
METRIC_NAMES = {
    "auroc": "AUROC",
    "macro_f1": "macro-F1",
    "balanced_accuracy": "balanced accuracy",
    "sensitivity": "sensitivity",
    "specificity": "specificity",
}


def _safe(text: object) -> str:
    return html.escape(str(text), quote=False)


def _layout(fig: go.Figure, title: str, **axes: Any) -> go.Figure:
    fig.update_layout(
        title={"text": _safe(title)},
        height=HEIGHT,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        legend={"orientation": "h", "y": -0.2},
        template="plotly_white",
        **axes,
    )
    return fig


def _error(value: float | None, interval: Sequence[float | None] | None) -> tuple[float, float]:
    if value is None or not interval or None in interval:
        return 0.0, 0.0
    lo, hi = interval
    assert lo is not None and hi is not None  # for mypy: ``None in interval`` was ruled out
    return max(value - lo, 0.0), max(hi - value, 0.0)


def interval_figure(
    title: str, series: dict[str, list[tuple[str, float | None, Sequence[float | None] | None]]]
) -> go.Figure:
    """Points with interval bars, one row per label, one colour per series.

    Parameters
    ----------
    title : str
        The chart's title.
    series : dict
        Series name (e.g. a metric) to ``(label, value, [lo, hi])`` per row; a None
        value is left out, a None interval drawn without bars.
    """
    fig = go.Figure()
    for k, (name, rows) in enumerate(series.items()):
        shown = [(label, value, interval) for label, value, interval in rows if value is not None]
        errors = [_error(value, interval) for _, value, interval in shown]
        fig.add_trace(
            go.Scatter(
                x=[value for _, value, _ in shown],
                y=[_safe(label) for label, _, _ in shown],
                mode="markers",
                orientation="h",
                offsetgroup=str(k),
                name=_safe(name),
                marker={"size": 10, "color": COLOURS[k % len(COLOURS)]},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [hi for _, hi in errors],
                    "arrayminus": [lo for lo, _ in errors],
                },
            )
        )
    fig.update_layout(scattermode="group", scattergap=0.4)  # the series side by side per row
    return _layout(
        fig,
        title,
        xaxis={"range": [-0.02, 1.02], "title": {"text": "value (95 % interval)"}},
        yaxis={"autorange": "reversed", "type": "category"},
    )


def curves_figure(history: list[dict[str, Any]]) -> go.Figure:
    """Training and validation loss per epoch."""
    fig = go.Figure()
    epochs = [record.get("epoch") for record in history]
    for k, (key, name) in enumerate(
        (("train_loss", "training loss"), ("val_loss", "validation loss"))
    ):
        fig.add_trace(
            go.Scatter(
                x=epochs,
                y=[record.get(key) for record in history],
                mode="lines+markers",
                name=name,
                line={"color": COLOURS[k]},
            )
        )
    return _layout(
        fig,
        "Training curves",
        xaxis={"title": {"text": "epoch"}},
        yaxis={"title": {"text": "loss"}},
    )


def reliability_figure(split: str, entry: dict[str, Any], method_text: str | None) -> go.Figure:
    """The reliability diagram of one split, before and (if fitted) after calibration."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="perfectly calibrated",
            line={"color": "#999999", "dash": "dash"},
        )
    )
    for k, stage in enumerate(("before", "after")):
        if stage not in entry:
            continue
        summary = entry[stage]
        label = "as scored" if stage == "before" else f"after {method_text}"
        fig.add_trace(
            go.Scatter(
                x=summary["predicted"],
                y=summary["observed"],
                mode="lines+markers",
                name=_safe(f"{label} (ECE {summary['ece']:.3f}, Brier {summary['brier']:.3f})"),
                text=[f"{c} participants" for c in summary["counts"]],
                marker={
                    "size": [6 + 2 * min(c, 10) for c in summary["counts"]],
                    "color": COLOURS[k],
                },
            )
        )
    return _layout(
        fig,
        f"Reliability diagram, {split} split",
        xaxis={"range": [0, 1], "title": {"text": "mean predicted probability in the bin"}},
        yaxis={"range": [-0.02, 1.02], "title": {"text": "share depressed in the bin"}},
    )


def bar_figure(title: str, labels: list[str], values: list[float], axis: str) -> go.Figure:
    """Horizontal bars, largest on top (top explanations, attribution shares)."""
    fig = go.Figure(
        go.Bar(
            x=values, y=[_safe(v) for v in labels], orientation="h", marker={"color": COLOURS[0]}
        )
    )
    height = max(HEIGHT, 22 * len(labels) + 120)
    _layout(
        fig,
        title,
        xaxis={"title": {"text": axis}},
        yaxis={"autorange": "reversed", "type": "category"},
    )
    fig.update_layout(height=height, showlegend=False)
    return fig
