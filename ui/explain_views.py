"""Explanation panels shared by the Explain and Predict pages."""

from __future__ import annotations

import html

import numpy as np
import streamlit as st

from core.explain.attribution import BASELINE
from core.explain.neural import ATTENTION_CAVEAT, SessionExplanation, landmark_attribution
from ui.common import MISSING, text_alert
from ui.explain_figures import (
    attribution_heatmap,
    feature_bars,
    landmark_face,
    window_heatmap,
)

MARK_STYLE = {
    "depressed": "background:#f5b7b1;border-radius:3px;padding:0 2px",
    "not depressed": "background:#aed6f1;border-radius:3px;padding:0 2px",
}


def attribution_caption(explanation: SessionExplanation) -> str:
    """How the attributions were computed and how well they converged, in one line."""
    attribution = explanation.attribution
    if not len(attribution.delta):
        return "No window, so no attribution."
    converged = int(attribution.converged.sum())
    return (
        f"Integrated Gradients of each window's log-odds of 'depressed'; baseline: {BASELINE}. "
        f"Convergence delta (sum of attributions minus the output change): largest "
        f"|δ| = {np.abs(attribution.delta).max():.4f} log-odds, "
        f"{attribution.relative_delta():.1%} of the mean output change; "
        f"{converged}/{len(attribution.delta)} windows within tolerance; "
        f"{attribution.n_gradients.min()}–{attribution.n_gradients.max()} gradient "
        "evaluations per window, more where the output changes fast along the path."
    )


def neural_explanation_panel(
    explanation: SessionExplanation, mean_shape: dict[str, float], key: str
) -> None:
    """Attention heatmaps beside the attributions, the feature ranking, the landmark face.

    Parameters
    ----------
    explanation : SessionExplanation
        One session under one audio or face run.
    mean_shape : dict
        Feature name to its training mean (for the landmark face).
    key : str
        Prefix for this panel's widget keys.
    """
    windows = explanation.windows
    for note in windows.notes:
        text_alert(st.caption, "Note:", note)
    if not len(windows):
        st.warning("This session gives no window under this run's settings: nothing to explain.")
        return
    probs = explanation.window_probs
    st.caption(
        f"{len(windows)} windows of {windows.x.shape[1]} steps at {windows.rate_hz:g} Hz, "
        f"{len(windows.feature_names)} features. Window probabilities "
        f"{probs.min():.2f}–{probs.max():.2f}; participant score (mean) "
        f"{explanation.probability:.2f}."
    )
    st.warning(ATTENTION_CAVEAT)
    span = time_range_ui(explanation, key)
    top = st.slider(
        "Features shown",
        5,
        40,
        20,
        key=f"{key}_top",
        help="How many features the attribution heatmap and the bar chart show, "
        "most influential first.",
    )
    left, right = st.columns(2)
    with left:
        if explanation.spatial is not None:
            st.plotly_chart(window_heatmap(explanation, "spatial", span), key=f"{key}_spatial")
        st.plotly_chart(window_heatmap(explanation, "attention", span), key=f"{key}_attention")
    with right:
        st.plotly_chart(attribution_heatmap(explanation, top, span), key=f"{key}_attribution")
        st.caption(attribution_caption(explanation))
    table = explanation.feature_table()
    bars, face = st.columns(2)
    with bars:
        st.plotly_chart(feature_bars(table, top), key=f"{key}_bars")
    points = landmark_attribution(table, mean_shape)
    with face:
        if points is not None:
            st.plotly_chart(landmark_face(points), key=f"{key}_face")
        else:
            st.dataframe(
                table.head(top),
                hide_index=True,
                placeholder=MISSING,
                column_config={
                    "contribution": st.column_config.NumberColumn(format="%.4f"),
                    "magnitude": st.column_config.NumberColumn(format="%.4f"),
                    "share": st.column_config.NumberColumn(format="percent"),
                },
                key=f"{key}_table",
            )


def time_range_ui(explanation: SessionExplanation, key: str) -> tuple[float, float]:
    """A slider over the session's time; long sessions are drawn coarser than short spans."""
    times = explanation.windows.times
    first = float(np.floor(np.nanmin(times)))
    last = float(np.ceil(np.nanmax(times)))
    if last - first < 2:
        return first, last
    return st.slider(
        "Time range (s)",
        first,
        last,
        (first, last),
        step=1.0,
        key=f"{key}_span",
        help="Narrow it to see every time step: a long session is averaged into at most "
        "1500 columns.",
    )


def highlighted_line(text: str, spans: list[tuple[int, int, str]], direction: dict) -> str:
    """HTML of one transcript line with its n-gram spans marked (text escaped).

    Overlapping spans are merged into the earliest one.
    """
    out, position = [], 0
    for start, stop, term in sorted(spans):
        if start < position:
            continue
        style = MARK_STYLE.get(direction.get(term, ""), "background:#eee")
        out.append(html.escape(text[position:start]))
        out.append(
            f"<mark style='{style}' title='{html.escape(term)}'>"
            f"{html.escape(text[start:stop])}</mark>"
        )
        position = stop
    out.append(html.escape(text[position:]))
    return "".join(out)


def highlighted_transcript(lines: list[dict], direction: dict, limit: int = 400) -> str:
    """HTML of the transcript lines, each with its time, n-grams highlighted."""
    rows = []
    for line in lines[:limit]:
        stamp = f"{int(line['start_time'] // 60)}:{int(line['start_time'] % 60):02d}"
        body = highlighted_line(line["text"], line["spans"], direction)
        rows.append(f"<div style='margin:2px 0'><code>{stamp}</code> {body}</div>")
    more = len(lines) - limit
    if more > 0:
        rows.append(f"<div><em>… {more} more lines</em></div>")
    legend = (
        f"<div style='margin-bottom:6px'><mark style='{MARK_STYLE['depressed']}'>"
        "more frequent when depressed</mark> "
        f"<mark style='{MARK_STYLE['not depressed']}'>more frequent when not depressed"
        "</mark></div>"
    )
    return (
        "<div style='max-height:420px;overflow-y:auto;font-size:0.9rem'>"
        + legend
        + "".join(rows)
        + "</div>"
    )
