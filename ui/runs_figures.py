"""Plotly figures of the Runs page: curve overlay, confusion matrix and ROC curve.

Plain functions of plain values (no Streamlit), so they are easy to test and reuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from sklearn.metrics import roc_curve

CLASS_NAMES = ("not depressed", "depressed")
RocCurve: TypeAlias = tuple[Sequence[int], Sequence[float], float | None]


def ema(values: Sequence[float | None], weight: float) -> list[float | None]:
    """Exponential moving average with bias correction (as TensorBoard smooths curves).

    pandas' ``ewm(adjust=True, ignore_na=True)`` is exactly this average: each value is
    the weighted mean of the values so far with weights ``weight ** age``, missing values
    skipped.

    Parameters
    ----------
    values : sequence of float or None
        One value per epoch; None or a non-finite value (missing) stays None and is skipped.
    weight : float
        0 gives the values unchanged; towards 1 smooths more.

    Returns
    -------
    list of float or None
        Same length as ``values``.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    series = pd.Series([np.nan if v is None else v for v in values], dtype=float)
    series[~np.isfinite(series)] = np.nan
    smoothed = series.ewm(alpha=1.0 - weight, adjust=True, ignore_na=True).mean()
    return [
        None if missing else float(v) for v, missing in zip(smoothed, series.isna(), strict=True)
    ]


def loss_overlay(curves: dict[str, list[dict]], smoothing: float = 0.0) -> go.Figure:
    """Train (dashed) and validation (solid) loss of several runs, one colour per run.

    Parameters
    ----------
    curves : dict
        Run name to its epoch records (``epoch``, ``train_loss``, ``val_loss``).
    smoothing : float
        Exponential moving average weight, see :func:`ema`.
    """
    figure = go.Figure()
    palette = qualitative.Plotly
    for i, (name, records) in enumerate(curves.items()):
        color = palette[i % len(palette)]
        epochs = [r.get("epoch") for r in records]
        mode = "lines+markers" if len(records) < 30 else "lines"
        for key, dash, label in (("val_loss", "solid", "val"), ("train_loss", "dash", "train")):
            hover = f"{name}<br>{label} loss %{{y:.4f}}<br>epoch %{{x}}<extra></extra>"
            figure.add_trace(
                go.Scatter(
                    x=epochs,
                    y=ema([r.get(key) for r in records], smoothing),
                    mode=mode,
                    name=f"{name} · {label}",
                    legendgroup=name,
                    line={"color": color, "dash": dash},
                    hovertemplate=hover,
                )
            )
    longest = max((len(records) for records in curves.values()), default=0)
    title = "Loss per epoch (solid: validation, dashed: train)"
    if smoothing > 0:
        title += f", smoothed (EMA {smoothing:.2f})"
    figure.update_layout(
        title=title,
        xaxis={"title": "epoch", "dtick": 1 if longest <= 15 else None, "tickformat": "d"},
        yaxis_title="loss",
        legend={"orientation": "h", "y": -0.2},
        margin={"t": 50, "b": 10},
    )
    return figure


def confusion_heatmap(matrix: Sequence[Sequence[int]], title: str) -> go.Figure:
    """Confusion matrix ``[[tn, fp], [fn, tp]]`` as an annotated heatmap.

    Rows are the true class, columns the predicted class.
    """
    counts = np.asarray(matrix, dtype=int)
    total = max(int(counts.sum()), 1)
    text = [[f"{c}<br>({c / total:.0%})" for c in row] for row in counts]
    figure = go.Figure(
        go.Heatmap(
            z=counts,
            x=[f"predicted<br>{c}" for c in CLASS_NAMES],
            y=[f"true {c}" for c in CLASS_NAMES],
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hovertemplate="%{y}, %{x}: %{z} participants<extra></extra>",
        )
    )
    figure.update_layout(title=title, yaxis={"autorange": "reversed"}, margin={"t": 50})
    return figure


def roc_figure(curves: dict[str, RocCurve], title: str) -> go.Figure:
    """ROC curves of participant-level probabilities (one per split), with the chance line.

    Parameters
    ----------
    curves : dict
        Curve name (``"dev"``, ``"test"``) to ``(labels, probs, auroc)``; ``auroc`` may
        be None.
    title : str
        Chart title.

    Raises
    ------
    ValueError
        No curves, or a curve whose labels hold one class only (no ROC curve exists).
    """
    if not curves:
        raise ValueError("no participants to draw a ROC curve of")
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="chance (and the trivial baselines)",
            line={"dash": "dot", "color": "grey"},
        )
    )
    for name, (labels, probs, auroc) in curves.items():
        classes = np.asarray(labels, dtype=int)
        if np.unique(classes).size < 2:
            raise ValueError(f"a ROC curve needs participants of both classes ({name})")
        fpr, tpr, _ = roc_curve(classes, np.asarray(probs, dtype=float))
        label = name if auroc is None else f"{name} (AUROC {auroc:.3f})"
        figure.add_trace(
            go.Scatter(x=fpr, y=tpr, mode="lines+markers", name=label, line_shape="hv")
        )
    figure.update_layout(
        title=title,
        xaxis_title="false positive rate<br>(not depressed called depressed)",
        yaxis_title="true positive rate (depressed found)",
        xaxis={"range": [-0.01, 1.01], "dtick": 0.25},
        yaxis={"range": [-0.01, 1.02], "dtick": 0.25},
        legend={"orientation": "h", "y": -0.3},
        margin={"t": 50},
    )
    return figure


def _rgba(hex_color: str, alpha: float) -> str:
    red, green, blue = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def band_overlay(bands: dict[str, pd.DataFrame], metric: str = "validation loss") -> go.Figure:
    """Mean curve of each group of runs with a band of ± one standard deviation.

    Parameters
    ----------
    bands : dict
        Group name to its :func:`ui.runs_tables.mean_band` frame (``epoch``, ``mean``,
        ``sd``, ``runs``).
    metric : str
        What the curves show, for the title and axis.
    """
    figure = go.Figure()
    palette = qualitative.Plotly
    for i, (name, band) in enumerate(bands.items()):
        color = palette[i % len(palette)]
        epochs = band["epoch"].tolist()
        upper = (band["mean"] + band["sd"]).tolist()
        lower = (band["mean"] - band["sd"]).tolist()
        figure.add_trace(
            go.Scatter(
                x=epochs + epochs[::-1],
                y=upper + lower[::-1],
                fill="toself",
                fillcolor=_rgba(color, 0.2),
                line={"width": 0},
                hoverinfo="skip",
                legendgroup=name,
                showlegend=False,
                name=f"{name} · band",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=epochs,
                y=band["mean"],
                customdata=np.c_[band["sd"], band["runs"]],
                mode="lines+markers" if len(epochs) < 30 else "lines",
                name=name,
                legendgroup=name,
                line={"color": color},
                hovertemplate=f"{name}<br>mean %{{y:.4f}} ± %{{customdata[0]:.4f}}"
                "<br>%{customdata[1]} runs, epoch %{x}<extra></extra>",
            )
        )
    figure.update_layout(
        title=f"Mean {metric} per epoch over each group's runs (band: ± one standard deviation)",
        xaxis={"title": "epoch", "tickformat": "d"},
        yaxis_title=metric,
        legend={"orientation": "h", "y": -0.2},
        margin={"t": 50, "b": 10},
    )
    return figure
