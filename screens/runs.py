"""Runs page: every run with participant-level dev metrics, loss curves, one run up close.

The table lists each run's modality, status, epochs, best validation loss and, at its
best epoch, dev macro-F1, F1 of each class and AUROC with 95 % bootstrap intervals, next
to the trivial baselines on the same participants. Selected rows overlay their loss
curves; one run shows its confusion matrix and ROC curve. The table exports as CSV, and a
run can be deleted after an explicit confirmation.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import streamlit as st

from core.runs import folder
from core.runs.manager import ACTIVE, delete_run
from core.runs.table import (
    METRICS,
    ensure_evaluation,
    forget_evaluation,
    read_evaluation,
    runs_stamp,
    runs_table,
    stale_evaluations,
    table_csv,
)
from ui.common import page_corpus, runs_root
from ui.runs_figures import confusion_heatmap, loss_overlay, roc_figure

DELETE_TARGET = "runs_delete_target"
LABELS = {
    "macro_f1": "dev macro-F1",
    "f1_depressed": "F1 depressed",
    "f1_not_depressed": "F1 not depressed",
    "auroc": "AUROC",
}


@st.cache_data(show_spinner=False, max_entries=4)
def load_table(root: str, stamp: tuple) -> pd.DataFrame:
    """The runs table; ``stamp`` (:func:`core.runs.table.runs_stamp`) says when it changed."""
    return runs_table(Path(root), evaluate=False)


@st.cache_data(show_spinner=False, max_entries=64)
def load_records(run_dir: str, stamp: float) -> list[dict]:
    """A run's epoch records; ``stamp`` is the modification time of its metrics."""
    return folder.read_metrics(Path(run_dir))


def metrics_mtime(run_dir: str) -> float:
    path = Path(run_dir) / folder.METRICS
    return path.stat().st_mtime if path.exists() else 0.0


def interval_text(lo: float | None, hi: float | None) -> str:
    """``[0.41, 0.77]``, or empty when there is no interval."""
    if lo is None or hi is None or math.isnan(lo) or math.isnan(hi):
        return ""
    return f"[{lo:.2f}, {hi:.2f}]"


def shown_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table as displayed: intervals as text next to their metric, no folder paths."""
    shown = table.drop(columns=["path"])
    for name in METRICS:
        bounds = zip(shown[f"{name}_lo"], shown[f"{name}_hi"], strict=True)
        ci = [interval_text(lo, hi) for lo, hi in bounds]
        shown = shown.drop(columns=[f"{name}_lo", f"{name}_hi"])
        shown.insert(shown.columns.get_loc(name) + 1, f"{name}_ci", ci)
    done = shown["epochs"].astype("Int64").astype(str)
    total = shown["max_epochs"].astype("Int64").astype(str).replace("<NA>", "?")
    shown["epochs"] = done + "/" + total
    return shown.drop(columns=["max_epochs"])


def column_config() -> dict:
    """Headers and number formats of the displayed table."""
    config = {
        "run": st.column_config.TextColumn("run", pinned=True),
        "best_epoch": st.column_config.NumberColumn("best epoch", format="%d"),
        "best_val_loss": st.column_config.NumberColumn("best val loss", format="%.4f"),
        "n_dev": st.column_config.NumberColumn("dev participants", format="%d"),
        "n_dev_depressed": st.column_config.NumberColumn("of them depressed", format="%d"),
        "always_depressed_macro_f1": st.column_config.NumberColumn(
            "baseline: always depressed (macro-F1)", format="%.3f"
        ),
        "always_not_depressed_macro_f1": st.column_config.NumberColumn(
            "baseline: always not depressed (macro-F1)", format="%.3f"
        ),
        "evaluation": st.column_config.TextColumn(
            "intervals", help="95 % bootstrap intervals, computed once per saved best model"
        ),
    }
    for name, label in LABELS.items():
        config[name] = st.column_config.NumberColumn(
            label, format="%.3f", help="participant level, dev split, best epoch"
        )
        config[f"{name}_ci"] = st.column_config.TextColumn(f"{label} 95 % CI")
    return config


def baseline_caption(table: pd.DataFrame) -> str:
    """One line naming the trivial baselines, when every run saw the same participants."""
    scored = table.dropna(subset=["n_dev", "n_dev_depressed"])
    counts = set(zip(scored["n_dev"], scored["n_dev_depressed"], strict=True))
    if len(counts) != 1:
        return "Runs were scored on different dev participants: see the baseline columns."
    (n, k), first = counts.pop(), scored.iloc[0]
    return (
        f"Trivial baselines on the same {int(n)} dev participants ({int(k)} depressed): "
        f"always depressed macro-F1 {first['always_depressed_macro_f1']:.3f}, "
        f"always not depressed macro-F1 {first['always_not_depressed_macro_f1']:.3f}."
    )


def score_new_runs_ui(root: Path) -> None:
    """Score finished runs whose saved best model has no cached evaluation yet."""
    stale = stale_evaluations(root)
    if not stale:
        return
    bar = st.progress(0.0)
    for i, run_dir in enumerate(stale):
        bar.progress(i / len(stale), text=f"Scoring {run_dir.name} on dev participants (once)")
        ensure_evaluation(run_dir)
    bar.empty()


def selected_runs_ui(table: pd.DataFrame) -> list[str]:
    """The runs table with row selection; return the selected runs' names."""
    event = st.dataframe(
        shown_table(table),
        hide_index=True,
        width="stretch",
        column_config=column_config(),
        on_select="rerun",
        selection_mode="multi-row",
        key="runs_table",
    )
    rows = [i for i in event.selection.rows if i < len(table)]
    return table["run"].iloc[rows].tolist()


def forget_delete_target() -> None:
    st.session_state.pop(DELETE_TARGET, None)


@st.dialog("Delete this run?", on_dismiss=forget_delete_target)
def confirm_delete_ui(run_dir: Path, status: str) -> None:
    """Ask before deleting a run folder; delete it only on an explicit yes."""
    st.write(
        f"**{run_dir.name}** and everything in its folder (checkpoints, metrics, logs) "
        "will be removed from disk. This cannot be undone."
    )
    if status in ACTIVE:
        st.warning("This run is still running: it will be stopped first.")
    yes, no = st.columns(2)
    if yes.button("Delete permanently", type="primary", key="runs_delete_confirm"):
        try:
            with st.spinner("Stopping the run and deleting its folder"):
                delete_run(run_dir)
        except (ValueError, RuntimeError, OSError) as error:
            st.error(f"Could not delete {run_dir.name}: {error}")
            return
        forget_delete_target()
        st.session_state.pop("runs_table", None)  # row numbers now point elsewhere
        st.session_state["runs_message"] = f"Deleted run {run_dir.name}."
        st.rerun()
    if no.button("Cancel", key="runs_delete_cancel"):
        forget_delete_target()
        st.rerun()


def evaluation_ui(run: pd.Series) -> None:
    """Confusion matrix, ROC curve and baselines of one run on dev participants."""
    run_dir = Path(run["path"])
    cached = read_evaluation(run_dir)
    if cached is None:
        if run["status"] in ACTIVE:
            st.info("This run is still running: it is scored on dev participants when it ends.")
        else:
            st.info("This run's folder holds no saved best model, so it cannot be scored.")
        return
    if "error" in cached:
        st.warning(f"Scoring {run_dir.name} on dev participants failed: {cached['error']}")
        if st.button("Score again", key="runs_rescore"):
            forget_evaluation(run_dir)
            st.rerun()
        return
    report = cached["report"]
    metrics, intervals = report["metrics"], report["intervals"]
    scores = st.columns(4 if "late_fusion" in report else 3)
    scores[0].metric(
        "model macro-F1",
        f"{metrics['macro_f1']:.3f}",
        help=f"95 % bootstrap interval {interval_text(*intervals['macro_f1'])}",
    )
    for column, (name, label) in zip(
        scores[1:3],
        (("always_depressed", "always depressed"), ("always_not_depressed", "never depressed")),
        strict=True,
    ):
        column.metric(f"baseline: {label}", f"{report['baselines'][name]['macro_f1']:.3f}")
    if "late_fusion" in report:
        late = report["late_fusion"]["metrics"]["macro_f1"]
        scores[3].metric("late fusion (mean of probabilities)", f"{late:.3f}")
    st.caption(
        f"Participant level: {metrics['n']} dev participants ({metrics['n_depressed']} "
        "depressed), each participant's window probabilities averaged, threshold 0.5. "
        f"95 % bootstrap intervals: macro-F1 {interval_text(*intervals['macro_f1']) or 'n/a'}"
        f", AUROC {interval_text(*intervals['auroc']) or 'n/a'}."
    )
    left, right = st.columns(2)
    left.plotly_chart(
        confusion_heatmap(metrics["confusion_matrix"], "Confusion matrix (dev participants)"),
        key="runs_confusion",
    )
    participants = report["participants"]
    try:
        roc = roc_figure(
            [p["label"] for p in participants],
            [p["prob"] for p in participants],
            metrics.get("auroc"),
            "ROC curve (dev participants)",
        )
    except ValueError as error:
        right.info(f"No ROC curve: {error}.")
    else:
        right.plotly_chart(roc, key="runs_roc")


page_corpus()  # the sidebar's data source, also when this page is opened directly
st.title("Runs")
root = runs_root()
if message := st.session_state.pop("runs_message", None):
    st.success(message)
score_new_runs_ui(root)
table = load_table(str(root), runs_stamp(root))
if table.empty:
    st.info(f"No runs yet in `{root}`. Start one on the Train page.")
    st.stop()

st.caption(
    "Metrics are per participant on the dev split, at each run's best epoch (lowest "
    "validation loss); intervals are 95 % bootstrap intervals over participants. "
    "Research software, not a diagnostic device."
)
st.caption(baseline_caption(table))
selected = selected_runs_ui(table)
st.download_button(
    "Export table as CSV",
    data=table_csv(table),
    file_name="runs.csv",
    mime="text/csv",
    on_click="ignore",
    key="runs_export",
)

st.subheader("Loss curves")
if not selected:
    st.caption("Select runs in the table (left-hand checkboxes) to overlay their loss curves.")
else:
    smoothing = st.slider(
        "Smoothing (exponential moving average)", 0.0, 0.95, 0.0, 0.05, key="runs_smoothing"
    )
    paths = table.set_index("run")["path"]
    curves = {name: load_records(paths[name], metrics_mtime(paths[name])) for name in selected}
    st.plotly_chart(loss_overlay(curves, smoothing), key="runs_curves")

st.subheader("One run on dev participants")
name = st.selectbox(
    "Run", selected or table["run"].tolist(), key="runs_inspect", help="From the selected rows"
)
run = table[table["run"] == name].iloc[0]
reason = f": {run['reason']}" if pd.notna(run["reason"]) and run["reason"] else ""
st.caption(f"{run['modality']} run, {run['status']}{reason}")
evaluation_ui(run)
if st.button("Delete this run…", key="runs_delete"):
    st.session_state[DELETE_TARGET] = run["path"]
statuses = table.set_index("path")["status"]
if st.session_state.get(DELETE_TARGET) in statuses:
    target = st.session_state[DELETE_TARGET]
    confirm_delete_ui(Path(target), statuses[target])
