"""Plotly figures of a run's per-epoch history (``metrics.jsonl``).

Pure functions: they take the epoch records as plain dicts (or a DataFrame made by
:func:`metrics_frame`) and return a figure, so the Train page, the Runs page and tests
build the same pictures. Nothing here reads files or widgets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import pandas as pd
import plotly.graph_objects as go

#: Participant-level validation metrics drawn over epochs, with their legend names.
VAL_METRICS: dict[str, str] = {
    "val_macro_f1": "macro-F1",
    "val_auroc": "AUROC",
    "val_f1_depressed": "F1 depressed",
    "val_f1_not_depressed": "F1 not depressed",
    "val_balanced_accuracy": "balanced accuracy",
}
LOSSES: dict[str, str] = {"train_loss": "train", "val_loss": "validation"}
HEIGHT = 360
MARKERS_UP_TO = 40  # epochs; beyond this, markers only clutter the lines

Records: TypeAlias = Sequence[Mapping[str, Any]] | pd.DataFrame


def metrics_frame(records: Records) -> pd.DataFrame:
    """Epoch records as a DataFrame sorted by ``epoch``, one row per epoch.

    List-valued fields (the confusion matrix) are dropped; fields missing from some
    records become NaN, and ``None`` (for example a text run's learning rate) becomes NaN.
    A DataFrame is taken to be such a frame already and returned as it is.
    """
    if isinstance(records, pd.DataFrame):
        return records
    frame = pd.DataFrame.from_records(list(records))
    if frame.empty:
        return pd.DataFrame({"epoch": pd.Series(dtype="int64")})
    listy = [c for c in frame.columns if frame[c].map(lambda v: isinstance(v, list)).any()]
    frame = frame.drop(columns=listy)
    return frame.sort_values("epoch", kind="stable").reset_index(drop=True)


def _mode(frame: pd.DataFrame) -> str:
    return "lines+markers" if len(frame) <= MARKERS_UP_TO else "lines"


def _layout(figure: go.Figure, title: str, y_title: str) -> go.Figure:
    figure.update_layout(
        title={"text": title},
        height=HEIGHT,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "top", "y": -0.3, "xanchor": "left", "x": 0},
    )
    figure.update_xaxes(title_text="epoch", rangemode="tozero")
    figure.update_yaxes(title_text=y_title)
    return figure


def _present(frame: pd.DataFrame, column: str) -> bool:
    return column in frame.columns and frame[column].notna().any()


def loss_figure(records: Records, title: str = "Loss") -> go.Figure:
    """Training and validation loss per epoch, with the best validation epoch marked."""
    frame = metrics_frame(records)
    figure = go.Figure()
    for column, name in LOSSES.items():
        if _present(frame, column):
            figure.add_trace(
                go.Scatter(x=frame["epoch"], y=frame[column], name=name, mode=_mode(frame))
            )
    if _present(frame, "val_loss"):
        best = frame.loc[frame["val_loss"].idxmin()]
        figure.add_trace(
            go.Scatter(
                x=[best["epoch"]],
                y=[best["val_loss"]],
                name=f"best (epoch {int(best['epoch'])})",
                mode="markers",
                marker={"symbol": "star", "size": 14},
            )
        )
    return _layout(figure, title, "loss")


def lr_figure(records: Records, title: str = "Learning rate") -> go.Figure:
    """Learning rate per epoch on a log axis (plateaus show as steps down)."""
    frame = metrics_frame(records)
    figure = go.Figure()
    if _present(frame, "lr"):
        figure.add_trace(
            go.Scatter(
                x=frame["epoch"], y=frame["lr"], name="lr", mode=_mode(frame), line_shape="hv"
            )
        )
    figure = _layout(figure, title, "learning rate")
    figure.update_yaxes(**_log_ticks(frame["lr"] if "lr" in frame else pd.Series(dtype=float)))
    figure.update_layout(showlegend=False)
    return figure


LR_FORMAT = ".2~e"
"""d3-format of learning rates: three significant digits, trailing zeros dropped, so
2.5e-4 reads ``2.5e-4`` (never rounded to ``3e-04``) and 1e-3 reads ``1e-3``."""


def lr_label(value: float) -> str:
    """A learning rate as :data:`LR_FORMAT` writes it: ``2.5e-4``, ``1e-3``, ``1.25e-4``."""
    mantissa, exponent = f"{value:.2e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _log_ticks(values: pd.Series, most: int = 6) -> dict[str, Any]:
    """A log axis ticked at the values a schedule used (when few), else at decades."""
    levels = sorted(set(values.dropna().round(12)))
    hover = {"type": "log", "hoverformat": LR_FORMAT}
    if 0 < len(levels) <= most:
        return {**hover, "tickvals": levels, "ticktext": [lr_label(v) for v in levels]}
    return {**hover, "dtick": 1, "tickformat": LR_FORMAT}


def val_metrics_figure(
    records: Records,
    metrics: Mapping[str, str] = VAL_METRICS,
    title: str = "Validation, per participant",
) -> go.Figure:
    """Participant-level validation metrics per epoch, on a 0-1 axis."""
    frame = metrics_frame(records)
    figure = go.Figure()
    for column, name in metrics.items():
        if _present(frame, column):
            figure.add_trace(
                go.Scatter(x=frame["epoch"], y=frame[column], name=name, mode=_mode(frame))
            )
    figure = _layout(figure, title, "score")
    figure.update_yaxes(range=[-0.02, 1.02])
    return figure


def overlay_figure(
    runs: Mapping[str, Records], column: str = "val_loss", title: str | None = None
) -> go.Figure:
    """One column (for example ``val_loss``) of several runs on one set of axes.

    Parameters
    ----------
    runs : mapping
        Run name to its epoch records.
    column : str
        The record field to draw; ``lr`` gets a log axis.
    title : str, optional
        Defaults to the column name.
    """
    figure = go.Figure()
    for name, records in runs.items():
        frame = metrics_frame(records)
        if _present(frame, column):
            figure.add_trace(
                go.Scatter(x=frame["epoch"], y=frame[column], name=name, mode=_mode(frame))
            )
    figure = _layout(figure, title or column, column)
    if column == "lr":
        lrs = [metrics_frame(r).get("lr", pd.Series(dtype=float)) for r in runs.values()]
        figure.update_yaxes(**_log_ticks(pd.concat(lrs) if lrs else pd.Series(dtype=float)))
    return figure
