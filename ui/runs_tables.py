"""Tables and sentences of the Runs page, from the runs table and saved evaluations.

Plain functions of plain values (no Streamlit), so they are easy to test and reuse.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from core.evaluation.metrics import BASELINE_NAMES, bootstrap_intervals, participant_metrics
from core.runs_table import BASELINES, METRICS, SPLITS, baselines_from_counts

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


# Keys of a run's configuration that do not make it a different configuration: its seed,
# its cross-validation fold and the experiment it belongs to.
BOOKKEEPING = ("version", "seed", "experiment")


def configuration(config: dict[str, Any]) -> dict[str, Any]:
    """A run's configuration without its seed, fold and experiment bookkeeping."""
    kept = {k: v for k, v in config.items() if k not in BOOKKEEPING}
    if isinstance(kept.get("data"), dict):
        kept["data"] = {k: v for k, v in kept["data"].items() if k != "assignment"}
    return kept


def _leaves(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = json.dumps(value) if isinstance(value, (list, tuple)) else value
    return out


def group_runs(configs: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Group runs whose configurations are equal but for seed and fold, named by what differs.

    Parameters
    ----------
    configs : dict
        Run name to its ``config.json``.

    Returns
    -------
    dict
        Group name to its runs (sorted). A group is named by its modality and the values
        of the settings that differ between the groups of that modality, for example
        ``"audio · hidden_size=32"``; settings are named by their last key, in full
        (``model.hidden_size``) where that is ambiguous.
    """
    groups: dict[str, list[str]] = {}
    shapes: dict[str, dict[str, Any]] = {}
    for name, config in configs.items():
        key = json.dumps(configuration(config), sort_keys=True, default=str)
        groups.setdefault(key, []).append(name)
        shapes[key] = _leaves(configuration(config))
    named: dict[str, list[str]] = {}
    for key, runs in sorted(groups.items(), key=lambda item: min(item[1])):
        leaves = shapes[key]
        modality = str(leaves.get("modality", "?"))
        peers = [s for s in shapes.values() if s.get("modality") == leaves.get("modality")]
        varied = [k for k in leaves if any(s.get(k) != leaves[k] for s in peers)]
        varied += sorted({k for s in peers for k in s if k not in leaves})
        short = [k.rsplit(".", 1)[-1] for k in varied]
        parts = [
            f"{s if short.count(s) == 1 else k}={leaves.get(k, '—')}"
            for k, s in zip(varied, short, strict=True)
        ]
        name = f"{modality} · {', '.join(parts)}" if parts else modality
        while name in named:  # equal as shown (for example 0.1 and "0.1"): keep both
            name += "′"
        named[name] = sorted(runs)
    return named


def pooled_participants(runs: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One probability per participant: the mean over the runs that scored them.

    The runs of a group differ by seed (each scores the same participants) and by fold
    (each scores its own participants), so this is the seed-averaged out-of-fold
    prediction of a cross-validated configuration, and the seed average of a dev one.

    Parameters
    ----------
    runs : list of list of dict
        Each run's participants, rows ``{"id", "label", "prob"}``.

    Returns
    -------
    list of dict
        Rows ``{"id", "label", "prob"}``, sorted by participant.

    Raises
    ------
    ValueError
        When runs give a participant different labels.
    """
    rows = [row for participants in runs for row in participants]
    if not rows:
        return []
    frame = pd.DataFrame(rows, columns=["id", "label", "prob"])
    labels = frame.groupby("id")["label"].nunique()
    if (labels > 1).any():
        raise ValueError(
            f"The runs give different labels to participant(s) {labels[labels > 1].index.tolist()}."
        )
    pooled = frame.groupby("id", sort=True).agg(label=("label", "first"), prob=("prob", "mean"))
    return [
        {"id": pid.item() if hasattr(pid, "item") else pid, "label": int(r.label), "prob": r.prob}
        for pid, r in pooled.iterrows()
    ]


def group_row(name: str, runs: list[dict[str, Any]], n_boot: int = 1000) -> dict[str, Any]:
    """One group's participant-level figures on the seed-averaged predictions.

    Parameters
    ----------
    name : str
        The group's name.
    runs : list of dict
        Its runs that have a report on the split: ``{"seed", "participants"}``.
    n_boot : int
        Bootstrap resamples of the intervals.

    Returns
    -------
    dict
        ``group``, ``runs``, ``seeds``, ``participants``, ``depressed``; macro-F1 and
        AUROC of the seed-averaged predictions with 95 % intervals (``macro_f1``,
        ``macro_f1_ci``, ``auroc``, ``auroc_ci``); the mean and standard deviation over
        seeds of the per-seed macro-F1 (``macro_f1_seed_mean``, ``macro_f1_seed_sd``);
        the baselines' macro-F1 on the same participants.
    """
    pooled = pooled_participants([r["participants"] for r in runs])
    y = [p["label"] for p in pooled]
    probs = [p["prob"] for p in pooled]
    metrics = participant_metrics(y, probs)
    intervals = bootstrap_intervals(y, probs, n_boot=n_boot)
    seeds = sorted({r["seed"] for r in runs}, key=str)
    per_seed = []
    for seed in seeds:
        seed_rows = pooled_participants([r["participants"] for r in runs if r["seed"] == seed])
        seed_y = [p["label"] for p in seed_rows]
        per_seed.append(participant_metrics(seed_y, [p["prob"] for p in seed_rows])["macro_f1"])
    n, k = metrics["n"], metrics["n_depressed"]
    return {
        "group": name,
        "runs": len(runs),
        "seeds": ", ".join(map(str, seeds)),
        "participants": n,
        "depressed": k,
        "macro_f1": metrics["macro_f1"],
        "macro_f1_ci": interval_text(*intervals["macro_f1"]),
        "auroc": None if math.isnan(metrics["auroc"]) else metrics["auroc"],
        "auroc_ci": interval_text(*intervals["auroc"]),
        "macro_f1_seed_mean": float(pd.Series(per_seed).mean()),
        "macro_f1_seed_sd": float(pd.Series(per_seed).std()) if len(per_seed) > 1 else None,
        **{f"{b}_macro_f1": v for b, v in baselines_from_counts(n, k).items()},
    }


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
