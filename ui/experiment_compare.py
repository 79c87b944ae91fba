"""Comparing two runs, groups or configurations scored on the same participants.

Used by the Runs and Experiments screens: :func:`comparison` (plain values in, plain
values out) pairs two single runs on their common participants and tests the difference
(paired bootstrap, DeLong's test); :func:`pooled_comparison` compares two groups of runs
(or a group and a run) on their mean over seeds, the figure of a configuration
(:func:`core.evaluation.pooling.paired_estimand`); :func:`compare_ui` lays out the choice
and the answer, :func:`configurations_compare_ui` the same for an experiment's
configurations (:func:`core.experiment.compare.compare_configurations`). Names come from
folders, so they are shown as text, never as Markdown.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.errors import UserError
from core.evaluation.compare import METRIC_LABELS, align, delong, paired_bootstrap, plain_sentence
from core.evaluation.pooling import ScoredRun, paired_estimand, pool_seeds
from core.experiment.compare import compare_configurations, seeds_note
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
    rows = [_bootstrap_row(boot, METRIC_LABELS[metric])]
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


def _bootstrap_row(boot: dict[str, Any], label: str) -> dict[str, Any]:
    return {
        "test": f"paired bootstrap, {label}",
        "A": boot["a"],
        "B": boot["b"],
        "A − B": boot["difference"],
        "95 % interval": f"[{boot['ci_low']:.3f}, {boot['ci_high']:.3f}]",
        "resamples where A is better": boot["share_a_better"],
        "p": None,
    }


def pooled_comparison(
    runs_a: list[ScoredRun],
    runs_b: list[ScoredRun],
    name_a: str,
    name_b: str,
    metric: str = "macro_f1",
    n_boot: int = N_BOOT,
) -> dict[str, Any]:
    """Two groups of runs compared on their mean over seeds (one paired bootstrap).

    Two single runs are compared by :func:`comparison` (with DeLong's test).

    Returns
    -------
    dict
        As :func:`comparison` (``delong`` None unless both are single runs).

    Raises
    ------
    ValueError
        When the two share no participant or disagree on a label.
    """
    if len(runs_a) == len(runs_b) == 1:
        return comparison(
            [dict(r) for r in runs_a[0].participants],
            [dict(r) for r in runs_b[0].participants],
            name_a,
            name_b,
            metric,
            n_boot,
        )
    boot = paired_estimand(pool_seeds(runs_a), pool_seeds(runs_b), metric, name_a, name_b, n_boot)
    return {
        "sentence": f"{plain_sentence(boot, name_a, name_b)} {seeds_note(boot)}",
        "table": pd.DataFrame([_bootstrap_row(boot, METRIC_LABELS[metric])]),
        "n": boot["n"],
        "left_out": boot["left_out"],
        "bootstrap": boot,
        "delong": None,
    }


def compare_ui(items: dict[str, dict[str, list[ScoredRun]]], key: str) -> None:
    """Pick two items and a split and a metric; show their paired comparison.

    Parameters
    ----------
    items : dict
        Name to ``{split: runs}`` (:class:`~core.evaluation.pooling.ScoredRun`, one for
        a run, several for a group) for everything with participant-level predictions.
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
        result = pooled_comparison(
            items[name_a][split], items[name_b][split], name_a, name_b, metric
        )
    except ValueError as error:
        st.warning("These two cannot be compared:")
        st.text(str(error))
        return
    _result_ui(result, key)
    left_out = (
        f" ({result['left_out']} left out: only one of the two scored them)"
        if result["left_out"]
        else ""
    )
    st.caption(
        f"Paired over the {result['n']} {split} participants both scored{left_out}: each "
        f"bootstrap resample ({N_BOOT}) draws participants once and scores both (a group: "
        "every seed, then the mean over seeds). The difference is A − B; two are "
        "distinguishable when its interval excludes 0."
    )


def _result_ui(result: dict[str, Any], key: str) -> None:
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


def configurations_compare_ui(status: dict[str, Any], names: dict[str, str]) -> None:
    """Compare two complete configurations of an experiment on their mean over seeds.

    Parameters
    ----------
    status : dict
        The experiment's status.
    names : dict
        Configuration ID to its name as shown, for the complete configurations.
    """
    ids = list(names)
    left, right, metric_column = st.columns(3)
    a = left.selectbox(
        "A", ids, index=0, format_func=names.__getitem__, key="experiments_compare_a"
    )
    b = right.selectbox(
        "B", ids, index=1, format_func=names.__getitem__, key="experiments_compare_b"
    )
    metric = metric_column.selectbox(
        "Metric",
        list(METRIC_LABELS),
        index=list(METRIC_LABELS).index(status["objective"])
        if status["objective"] in METRIC_LABELS
        else 0,
        format_func=METRIC_LABELS.__getitem__,
        key="experiments_compare_metric",
    )
    if a == b:
        st.caption("Choose two different configurations.")
        return
    try:
        found = compare_configurations(status["path"], a, b, metric, n_boot=N_BOOT)
    except (UserError, ValueError) as error:
        st.warning("These two cannot be compared:")
        st.text(str(error))
        return
    boot = found["bootstrap"]
    rows = [_bootstrap_row(boot, METRIC_LABELS[metric])]
    if found["delong"] is not None:
        d = found["delong"]
        rows.append(
            {
                "test": "DeLong, AUROC",
                "A": d["a"],
                "B": d["b"],
                "A − B": d["difference"],
                "95 % interval": f"[{d['ci_low']:.3f}, {d['ci_high']:.3f}]",
                "resamples where A is better": None,
                "p": d["p"],
            }
        )
    result = {"sentence": found["sentence"], "table": pd.DataFrame(rows)}
    _result_ui(result, "experiments")
    st.caption(
        f"Each configuration's figure is its mean over seeds, as in the table above; paired "
        f"over the {boot['n']} participants both scored: each bootstrap resample "
        f"({boot['n_boot']}) draws the participants once and scores every seed of both. "
        "The difference is A − B; two are distinguishable when its interval excludes 0."
    )
