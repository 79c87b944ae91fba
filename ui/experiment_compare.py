"""Comparing two runs, groups or configurations scored on the same participants.

Used by the Runs and Experiments screens: :func:`comparison` (plain values in, plain
values out) pairs the two on their common participants and tests the difference;
:func:`compare_ui` lays out the choice and the answer. Names come from folders, so they
are shown as text, never as Markdown.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.evaluation.compare import METRIC_LABELS, align, delong, paired_bootstrap, plain_sentence
from ui.common import MISSING

N_BOOT = 2000


def comparison(
    rows_a: list[dict[str, Any]],
    rows_b: list[dict[str, Any]],
    name_a: str,
    name_b: str,
    metric: str = "macro_f1",
    n_boot: int = N_BOOT,
) -> dict[str, Any]:
    """The paired bootstrap (and DeLong's test where it applies) of A against B.

    Parameters
    ----------
    rows_a, rows_b : list of dict
        Each one's participants, rows ``{"id", "label", "prob"}``.
    name_a, name_b : str
        How to call them.
    metric : str
        One of :data:`core.evaluation.compare.METRIC_LABELS`.
    n_boot : int
        Bootstrap resamples.

    Returns
    -------
    dict
        ``sentence`` (plain words), ``table`` (one row per test), ``n`` (participants
        compared), ``left_out`` (participants only one of them scored), ``bootstrap``
        and ``delong`` (None without two participants of each class).

    Raises
    ------
    ValueError
        When the two share no participant or disagree on a label.
    """
    paired = align(rows_a, rows_b, name_a, name_b)
    boot = paired_bootstrap(paired.y, paired.p_a, paired.p_b, metric=metric, n_boot=n_boot)
    label = METRIC_LABELS[metric]
    rows = [
        {
            "test": f"paired bootstrap, {label}",
            "A": boot["a"],
            "B": boot["b"],
            "A − B": boot["difference"],
            "95 % interval": f"[{boot['ci_low']:.3f}, {boot['ci_high']:.3f}]",
            "resamples where A is better": boot["share_a_better"],
            "p": None,
        }
    ]
    n_pos = int(paired.y.sum())
    test = None
    if min(n_pos, paired.y.size - n_pos) >= 2:
        test = delong(paired.y, paired.p_a, paired.p_b)
        rows.append(
            {
                "test": "DeLong, AUROC",
                "A": test["a"],
                "B": test["b"],
                "A − B": test["difference"],
                "95 % interval": f"[{test['ci_low']:.3f}, {test['ci_high']:.3f}]",
                "resamples where A is better": None,
                "p": test["p"],
            }
        )
    sentences = [plain_sentence(boot, name_a, name_b)]
    if test is not None and metric == "auroc":
        sentences.append(f"DeLong's test: z = {test['z']:.2f}, p = {test['p']:.3f}.")
    return {
        "sentence": " ".join(sentences),
        "table": pd.DataFrame(rows),
        "n": boot["n"],
        "left_out": len(paired.only_a) + len(paired.only_b),
        "bootstrap": boot,
        "delong": test,
    }


def compare_ui(items: dict[str, dict[str, list[dict[str, Any]]]], key: str) -> None:
    """Pick two items and a split and a metric; show their paired comparison.

    Parameters
    ----------
    items : dict
        Name to ``{split: participants}`` for every run, group or configuration that has
        participant-level predictions.
    key : str
        Prefix of the widget keys (the page's name).
    """
    names = list(items)
    if len(names) < 2:
        st.caption("Two runs or groups with saved participant-level results can be compared.")
        return
    left, right, split_column, metric_column = st.columns(4)
    name_a = left.selectbox("A", names, index=0, key=f"{key}_compare_a")
    name_b = right.selectbox("B", names, index=1, key=f"{key}_compare_b")
    splits = [s for s in items[name_a] if s in items[name_b]]
    if name_a == name_b or not splits:
        st.caption("Choose two different ones that were scored on a common split.")
        return
    split = split_column.selectbox("Split", splits, key=f"{key}_compare_split")
    metric = metric_column.selectbox(
        "Metric",
        list(METRIC_LABELS),
        format_func=METRIC_LABELS.__getitem__,
        key=f"{key}_compare_metric",
    )
    try:
        result = comparison(items[name_a][split], items[name_b][split], name_a, name_b, metric)
    except ValueError as error:
        st.warning("These two cannot be compared:")
        st.text(str(error))
        return
    st.text(result["sentence"])
    st.dataframe(
        result["table"],
        hide_index=True,
        placeholder=MISSING,
        key=f"{key}_compare_table",
        column_config={
            c: st.column_config.NumberColumn(c, format="%.3f")
            for c in result["table"].columns
            if c not in ("test", "95 % interval")
        },
    )
    left_out = (
        f" ({result['left_out']} left out: only one of the two scored them)"
        if result["left_out"]
        else ""
    )
    st.caption(
        f"Paired over the {result['n']} {split} participants both scored{left_out}: each "
        f"bootstrap resample ({N_BOOT}) draws participants once and scores both. The "
        "difference is A − B; two are distinguishable when its interval excludes 0."
    )
