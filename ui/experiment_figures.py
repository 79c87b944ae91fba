"""Plotly figures of the Experiments page: parallel coordinates and the objective chart.

Plain functions of plain values (no Streamlit). ``configurations`` are the entries of
:func:`core.experiment.experiment_status`.
"""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go

from ui.experiment_tables import OBJECTIVE_LABELS


def _scored(configurations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in configurations if c.get("mean") is not None]


TICK_FORMAT = ".3~r"
"""d3 format of numeric axis ticks: three significant digits, no trailing zeros (0.612)."""


def _dimension(name: str, values: list[Any]) -> dict[str, Any]:
    """A parallel-coordinates axis: numbers as they are, anything else as categories.

    Numeric ticks are rounded to three significant digits (``0.612``, not ``0.611765``).
    """
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        positive = all(v > 0 for v in values)
        if positive and max(values) / min(values) >= 100:  # a log-scale setting
            logs = [math.log10(v) for v in values]
            return {"label": f"log10 {name}", "values": logs, "tickformat": TICK_FORMAT}
        return {"label": name, "values": values, "tickformat": TICK_FORMAT}
    categories = sorted({str(v) for v in values})
    return {
        "label": name,
        "values": [categories.index(str(v)) for v in values],
        "tickvals": list(range(len(categories))),
        "ticktext": categories,
    }


def parallel_coordinates(configurations: list[dict[str, Any]], objective: str) -> go.Figure:
    """The varied settings of each scored configuration against its objective (mean).

    Parameters
    ----------
    configurations : list of dict
        Status entries; those without a mean yet are left out.
    objective : str
        The experiment's objective.
    """
    scored = _scored(configurations)
    names = sorted({k for c in scored for k in (c.get("params") or {})})
    label = OBJECTIVE_LABELS.get(objective, objective)
    dimensions = [_dimension(n, [(c.get("params") or {}).get(n) for c in scored]) for n in names]
    means = [c["mean"] for c in scored]
    dimensions.append(
        {"label": f"{label} (mean over seeds)", "values": means, "tickformat": TICK_FORMAT}
    )
    figure = go.Figure(
        go.Parcoords(
            dimensions=dimensions,
            line={
                "color": means,
                "colorscale": "Viridis",
                "reversescale": objective == "val_loss",
                "showscale": True,
                "colorbar": {"tickformat": TICK_FORMAT},
            },
        )
    )
    figure.update_layout(
        title=f"Varied settings against {label} ({len(scored)} configurations scored)",
        margin={"t": 80, "l": 60, "r": 60},
    )
    return figure


def objective_chart(
    configurations: list[dict[str, Any]], objective: str, baselines: dict[str, float]
) -> go.Figure:
    """Each configuration's objective: mean over seeds, interval, seeds as dots, baselines.

    Parameters
    ----------
    configurations : list of dict
        Status entries; those without a mean yet are left out.
    objective : str
        The experiment's objective.
    baselines : dict
        Name to value of the trivial baselines on the same participants, drawn as
        dashed lines on the same axis.
    """
    scored = _scored(configurations)
    label = OBJECTIVE_LABELS.get(objective, objective)
    names = [c["id"] for c in scored]
    figure = go.Figure()
    seeds_x, seeds_y, seeds_text = [], [], []
    for c in scored:
        for s in c.get("per_seed") or []:
            if s.get("value") is not None:
                seeds_x.append(c["id"])
                seeds_y.append(s["value"])
                seeds_text.append(f"seed {s['seed']}")
    figure.add_trace(
        go.Scatter(
            x=seeds_x,
            y=seeds_y,
            mode="markers",
            name="one seed",
            text=seeds_text,
            marker={"size": 7, "opacity": 0.5, "color": "grey"},
            hovertemplate="%{x} %{text}: %{y:.3f}<extra></extra>",
        )
    )
    # The interval is that of the mean over seeds (one bootstrap shared by the seeds).
    upper = [max(0.0, (c.get("ci_high") or c["mean"]) - c["mean"]) for c in scored]
    lower = [max(0.0, c["mean"] - (c.get("ci_low") or c["mean"])) for c in scored]
    figure.add_trace(
        go.Scatter(
            x=names,
            y=[c["mean"] for c in scored],
            mode="markers",
            name="mean over seeds, 95 % interval",
            marker={"size": 12, "symbol": "diamond"},
            error_y={"type": "data", "array": upper, "arrayminus": lower, "visible": True},
            hovertemplate="%{x}: mean %{y:.3f}<extra></extra>",
        )
    )
    for i, (name, value) in enumerate(baselines.items()):
        figure.add_hline(
            y=value,
            line={"dash": "dash", "color": ["firebrick", "darkorange", "grey"][i % 3]},
            annotation_text=f"{name} {value:.3f}",
            annotation_position="top left",
        )
    figure.update_layout(
        title=f"{label} per configuration",
        xaxis={"title": "configuration", "type": "category"},
        yaxis_title=label,
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 50},
    )
    return figure
