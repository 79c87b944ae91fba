"""Tables and sentences of the Runs page, from the runs table and saved evaluations.

Plain functions of plain values (no Streamlit), so they are easy to test and reuse.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from core.evaluation.metrics import BASELINE_NAMES
from core.runs_table import BASELINES, METRICS, SPLITS

# Display names of the runs table's metrics (core.runs_table.METRICS).
LABELS = {
    "macro_f1": "macro-F1",
    "f1_depressed": "F1 depressed",
    "f1_not_depressed": "F1 not depressed",
    "auroc": "AUROC",
}


# How each modality gives one probability per participant.
def interval_text(lo: float | None, hi: float | None) -> str:
    """``[0.41, 0.77]``, or empty when there is no interval."""
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return ""
    return f"[{lo:.2f}, {hi:.2f}]"


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table as displayed: intervals as text next to their metric, no folder paths.

    ``reason`` (why a run ended, sometimes a long error) comes after every figure, so
    a long one never pushes the metric columns off the screen.
    """
    shown = table.drop(columns=["path"])
    for prefix in ("", "test_"):
        for name in METRICS:
            column = prefix + name
            bounds = zip(shown[f"{column}_lo"], shown[f"{column}_hi"], strict=True)
            ci = [interval_text(lo, hi) for lo, hi in bounds]
            shown = shown.drop(columns=[f"{column}_lo", f"{column}_hi"])
            shown.insert(shown.columns.get_loc(column) + 1, f"{column}_ci", ci)
    done = shown["epochs"].astype("Int64").astype(str)
    total = shown["max_epochs"].astype("Int64").astype(str).replace("<NA>", "?")
    shown["epochs"] = done + "/" + total
    front = ["run", "modality", "status", "epochs", "best_epoch", "best_val_loss"]
    front.append("evaluation")
    for name in METRICS:  # dev and test side by side
        front += [name, f"{name}_ci", f"test_{name}", f"test_{name}_ci"]
    for name in BASELINES:
        front += [f"{name}_macro_f1", f"test_{name}_macro_f1"]
    front += ["n_dev", "n_dev_depressed", "n_test", "n_test_depressed"]
    front.append("reason")
    rest = [c for c in shown.columns if c not in front and c != "max_epochs"]
    return shown[front + rest]


def baseline_caption(table: pd.DataFrame) -> str:
    """The trivial baselines of each split, in a sentence or two.

    When every run was scored on the same participants of a split, the sentence gives
    the baselines' macro-F1 there; when runs were scored on different participants, it
    says so and points to each run's own baseline columns.
    """
    sentences = []
    for split, prefix in (("dev", ""), ("test", "test_")):
        scored = table.dropna(subset=[f"n_{split}", f"n_{split}_depressed"])
        counts = set(zip(scored[f"n_{split}"], scored[f"n_{split}_depressed"], strict=True))
        if len(counts) > 1:
            sentences.append(
                f"The runs were scored on different {split} participants, so each has its own "
                f"trivial baselines: see its {split} baseline columns."
            )
        elif counts:
            (n, k), first = counts.pop(), scored.iloc[0]
            names = ", ".join(
                f"{name} {first[f'{prefix}{key}_macro_f1']:.3f}"
                for key, name in BASELINE_NAMES.items()
            )
            sentences.append(
                f"Trivial baselines on the same {int(n)} {split} participants "
                f"({int(k)} depressed), macro-F1: {names}."
            )
    return " ".join(sentences)


def no_test_labels_caption(table: pd.DataFrame) -> str | None:
    """Say plainly which runs have no test figures because their corpus has no test labels."""
    count = int(table["evaluation"].astype(str).str.contains("test: no labels").sum())
    if not count:
        return None
    runs = "1 run" if count == 1 else f"{count} runs"
    return (
        f"**No test figures for {runs}:** the corpus has no test labels "
        "(`full_test_split.csv` is missing or labels no one), so dev, the split that "
        "picked the checkpoint, is the only one scored."
    )


def scores_table(saved: dict[str, Any]) -> pd.DataFrame:
    """The model, late fusion and trivial baselines on each split, one row each."""
    rows = []
    for split in SPLITS:
        report = saved["splits"].get(split, {}).get("report")
        if report is None:
            continue
        scorers: list[tuple[str, dict, dict]] = [("model", report["metrics"], report["intervals"])]
        if "late_fusion" in report:
            late = report["late_fusion"]
            scorers.append(("late fusion", late["metrics"], late["intervals"]))
        scorers += [(BASELINE_NAMES[k], m, {}) for k, m in report["baselines"].items()]
        for scorer, metrics, intervals in scorers:
            row: dict[str, Any] = {"split": split, "scored by": scorer}
            for name, label in LABELS.items():
                value = metrics.get(name)
                row[label] = None if value is None or math.isnan(value) else value
                if name in ("macro_f1", "auroc"):
                    row[f"{label} CI"] = interval_text(*(intervals.get(name) or (None, None)))
            rows.append(row)
    return pd.DataFrame(rows)


def split_notes(saved: dict[str, Any]) -> list[str]:
    """One sentence per split that was not scored, saying why."""
    notes = []
    for split in SPLITS:
        entry = saved["splits"].get(split, {})
        if "no_labels" in entry:
            notes.append(f"Test split: {entry['no_labels']}.")
        elif "error" in entry:
            notes.append(f"Evaluating the {split} split failed: {entry['error']}")
    return notes


def participant_counts(reports: dict[str, dict]) -> str:
    """``"35 dev participants (12 depressed), 47 test participants (14 depressed)"``."""
    return ", ".join(
        f"{r['metrics']['n']} {split} participants ({r['metrics']['n_depressed']} depressed)"
        for split, r in reports.items()
    )


def roc_curves(reports: dict[str, dict]) -> dict[str, tuple[list, list, float | None]]:
    """``{split: (labels, probabilities, AUROC)}`` for each split with both classes."""
    curves = {}
    for split, report in reports.items():
        labels = [p["label"] for p in report["participants"]]
        if len(set(labels)) == 2:
            probs = [p["prob"] for p in report["participants"]]
            curves[split] = (labels, probs, report["metrics"].get("auroc"))
    return curves


def groups_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The groups' figures (:func:`core.run_groups.group_rows`) as shown: intervals as text."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    for name in ("macro_f1", "auroc"):
        bounds = zip(frame.pop(f"{name}_lo"), frame.pop(f"{name}_hi"), strict=True)
        frame.insert(
            frame.columns.get_loc(name) + 1, f"{name}_ci", [interval_text(*b) for b in bounds]
        )
    return frame


def mean_band(curves: list[list[dict[str, Any]]], key: str = "val_loss") -> pd.DataFrame:
    """Mean and standard deviation of one metric per epoch over several runs.

    Parameters
    ----------
    curves : list of list of dict
        Each run's epoch records.
    key : str
        The record's metric.

    Returns
    -------
    pandas.DataFrame
        Columns ``epoch``, ``mean``, ``sd`` (0 where one run reached the epoch) and
        ``runs`` (how many runs reached it), one row per epoch.
    """
    rows = [
        {"epoch": r["epoch"], "value": r.get(key)}
        for records in curves
        for r in records
        if r.get("epoch") is not None and r.get(key) is not None
    ]
    if not rows:
        return pd.DataFrame(columns=["epoch", "mean", "sd", "runs"])
    frame = pd.DataFrame(rows).groupby("epoch")["value"]
    band = frame.agg(mean="mean", sd="std", runs="count").reset_index()
    band["sd"] = band["sd"].fillna(0.0)
    return band
