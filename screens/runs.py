"""Runs page: every run with participant-level dev and test metrics, curves, one run up close.

The table lists each run's modality, status, epochs, best validation loss and, at its
best epoch, dev macro-F1, F1 of each class and AUROC with 95 % bootstrap intervals, the
same on the test split where its labels exist, and the trivial baselines on the same
participants. The best epoch is chosen on dev, so the page says that dev figures are
optimistic. Every figure is read from the evaluation the training process saved when the
run ended: visiting the page evaluates nothing (a run finished by an older version can be
evaluated with a button). Selected rows overlay their loss curves; one run shows its
scores, confusion matrices and ROC curves. Runs that differ only by seed (or fold) can
be grouped, with mean curves and the group's participant-level figures, and any two runs
or groups scored on the same participants compared (paired bootstrap, DeLong's test). The
table exports as CSV, and a run can be deleted after an explicit confirmation.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core import run_groups
from core.errors import UserError
from core.evaluation.metrics import BASELINE_NAMES
from core.kinds import get_kind
from core.run_groups import RunResult
from core.runs import folder
from core.runs.manager import ACTIVE, delete_run
from core.runs_table import (
    NOT_EVALUATED,
    SPLITS,
    read_evaluation,
    runs_stamp,
    runs_table,
    table_csv,
)
from ui.common import MISSING, page_corpus, runs_root
from ui.experiment_compare import compare_ui
from ui.runs_figures import band_overlay, confusion_heatmap, loss_overlay, roc_figure
from ui.runs_tables import (
    LABELS,
    baseline_caption,
    groups_table,
    mean_band,
    no_test_labels_caption,
    participant_counts,
    roc_curves,
    scores_table,
    shown_table,
    split_notes,
)

DELETE_TARGET = "runs_delete_target"
DEV_NOTE = (
    "**Dev picks the checkpoint.** Each run keeps the epoch that did best on the dev "
    "participants (lowest validation loss, or the run's `--monitor`: dev AUROC or "
    "macro-F1), so its dev figures are optimistic: dev both chose the "
    "model and scores it. The test participants (official labels from "
    "`full_test_split.csv`) were never used for any choice."
)


@st.cache_data(show_spinner=False, max_entries=4)
def load_table(root: str, stamp: tuple) -> pd.DataFrame:
    """The runs table; ``stamp`` (:func:`core.runs_table.runs_stamp`) says when it changed."""
    return runs_table(Path(root))


@st.cache_data(show_spinner=False, max_entries=64)
def load_records(run_dir: str, stamp: float) -> list[dict]:
    """A run's epoch records; ``stamp`` is the modification time of its metrics."""
    return folder.read_metrics(Path(run_dir))


@st.cache_data(show_spinner=False, max_entries=4)
def load_results(paths: tuple[str, ...], stamp: tuple) -> dict[str, RunResult]:
    """:func:`core.run_groups.load_results`; ``stamp`` (:func:`runs_stamp`) says when it changed."""
    return run_groups.load_results(paths)


@st.cache_data(show_spinner=False, max_entries=4)
def load_groups(paths: tuple[str, ...], stamp: tuple) -> tuple[dict, pd.DataFrame]:
    """Groups of runs that differ only by seed or fold, and their participant-level table."""
    results = load_results(paths, stamp)
    groups = run_groups.group_runs({name: r["config"] for name, r in results.items()})
    return groups, groups_table(run_groups.group_rows(results, groups))


def groups_ui(groups: dict[str, list[str]], figures: pd.DataFrame, paths: pd.Series) -> None:
    """The groups' table and their mean validation-loss curves with a band."""
    if figures.empty:
        st.caption("No group has saved participant-level results yet.")
    else:
        st.dataframe(
            figures,
            hide_index=True,
            placeholder=MISSING,
            key="runs_groups_table",
            column_config={
                c: st.column_config.NumberColumn(c, format="%.3f")
                for c in figures.columns
                if c.endswith(("macro_f1", "auroc", "_mean", "_sd"))
            },
        )
        st.caption(
            "Per participant, the mean over seeds of each seed's figure (a cross-validated "
            "group pools each seed's folds, out of fold), on the participants every seed "
            "scored; CI: 95 % interval of that mean, each bootstrap resample drawing the "
            "same participants for every seed; seed SD: of the per-seed macro-F1. "
            "ensemble_macro_f1 is a different model: the ensemble of the seeds (their "
            "probabilities averaged)."
        )
    several = [name for name, members in groups.items() if len(members) > 1]
    shown = st.multiselect(
        "Groups to draw", list(groups), default=several[:5], key="runs_groups_curves"
    )
    if shown:
        bands = {
            name: mean_band([load_records(paths[m], metrics_mtime(paths[m])) for m in groups[name]])
            for name in shown
        }
        st.plotly_chart(band_overlay(bands), key="runs_groups_chart")


def metrics_mtime(run_dir: str) -> float:
    path = Path(run_dir) / folder.METRICS
    return path.stat().st_mtime if path.exists() else 0.0


def column_config() -> dict:
    """Headers, help and number formats of the displayed table."""
    config = {
        "run": st.column_config.TextColumn("run", pinned=True),
        "reason": st.column_config.TextColumn(
            "reason",
            width="medium",
            help="Why the run ended; the whole text is under One run up close",
        ),
        "best_epoch": st.column_config.NumberColumn("best epoch", format="%d"),
        "best_val_loss": st.column_config.NumberColumn("best val loss", format="%.4f"),
        "evaluation": st.column_config.TextColumn(
            "evaluated", help="Splits scored when the run ended (and why not, if not)"
        ),
    }
    for split, prefix in (("dev", ""), ("test", "test_")):
        config[f"n_{split}"] = st.column_config.NumberColumn(f"{split} participants", format="%d")
        config[f"n_{split}_depressed"] = st.column_config.NumberColumn(
            f"{split} depressed", format="%d"
        )
        where = "best epoch, picked on dev" if split == "dev" else "best epoch"
        for name, label in LABELS.items():
            config[prefix + name] = st.column_config.NumberColumn(
                f"{split} {label}", format="%.3f", help=f"Per participant, {split} split, {where}"
            )
            config[f"{prefix}{name}_ci"] = st.column_config.TextColumn(
                f"{split} {label} CI", help="95 % bootstrap interval over participants"
            )
        for key, name in BASELINE_NAMES.items():
            config[f"{prefix}{key}_macro_f1"] = st.column_config.NumberColumn(
                f"{split} {name}",
                format="%.3f",
                help=f"Macro-F1 of the trivial baseline {name} on the same {split} participants",
            )
    return config


def evaluate_ui(run_dirs: list[Path]) -> None:
    """Evaluate runs on dev and test now (a spinner per run), then rerun the page."""
    from core.evaluate import evaluate_and_save

    bar = st.progress(0.0)
    for i, run_dir in enumerate(run_dirs):
        bar.progress(i / len(run_dirs), text=f"Evaluating {run_dir.name} on dev and test")
        evaluate_and_save(run_dir)
    bar.empty()
    st.rerun()


def evaluate_missing_ui(table: pd.DataFrame) -> None:
    """Offer to evaluate finished runs that have no saved evaluation (older versions)."""
    missing = table[table["evaluation"] == NOT_EVALUATED]
    if missing.empty:
        return
    count = len(missing)
    st.caption(
        f"{count} finished run{'s' if count > 1 else ''} "
        f"{'have' if count > 1 else 'has'} no saved evaluation (finished by an older version, "
        "or the best model changed since): no intervals or test figures for "
        f"{'them' if count > 1 else 'it'} yet."
    )
    if st.button(f"Evaluate {count} run{'s' if count > 1 else ''} now", key="runs_evaluate_all"):
        evaluate_ui([Path(p) for p in missing["path"]])


def selected_runs_ui(table: pd.DataFrame) -> list[str]:
    """The runs table with row selection; return the selected runs' names."""
    event = st.dataframe(
        shown_table(table),
        hide_index=True,
        placeholder=MISSING,
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
        except (UserError, RuntimeError, OSError) as error:
            st.error(f"Could not delete {run_dir.name}: {error}")
            return
        forget_delete_target()
        st.session_state.pop("runs_table", None)  # row numbers now point elsewhere
        st.session_state["runs_message"] = f"Deleted run {run_dir.name}."
        st.rerun()
    if no.button("Cancel", key="runs_delete_cancel"):
        forget_delete_target()
        st.rerun()


def no_evaluation_ui(run: pd.Series, run_dir: Path) -> None:
    """Why a run has no saved evaluation, and a button to evaluate it when it can be."""
    if run["status"] in ACTIVE:
        st.info("This run is still running: it is evaluated on dev and test when it ends.")
    elif run["evaluation"] == "being evaluated":
        st.info("This run has ended and its process is evaluating it now.")
    elif run["evaluation"] == "no saved model":
        st.info("This run's folder holds no saved best model, so it cannot be evaluated.")
    else:
        st.info(
            "This run has no saved evaluation (it finished under an older version, or its "
            "best model changed since)."
        )
        if st.button("Evaluate this run now", key="runs_evaluate_one"):
            evaluate_ui([run_dir])


def evaluation_ui(run: pd.Series) -> None:
    """Scores, confusion matrices and ROC curves of one run on dev and test participants."""
    run_dir = Path(run["path"])
    saved = read_evaluation(run_dir)
    if saved is None:
        no_evaluation_ui(run, run_dir)
        return
    for note in split_notes(saved):
        st.warning(note)
    reports = {s: saved["splits"][s]["report"] for s in SPLITS if "report" in saved["splits"][s]}
    if not reports:
        if st.button("Evaluate again", key="runs_evaluate_one"):
            evaluate_ui([run_dir])
        return
    st.dataframe(
        scores_table(saved),
        hide_index=True,
        placeholder=MISSING,
        column_config={
            label: st.column_config.NumberColumn(label, format="%.3f") for label in LABELS.values()
        },
        key="runs_scores",
    )
    st.caption(
        f"Participant level: {participant_counts(reports)}; "
        f"{get_kind(run['modality']).how_scored}, "
        "threshold 0.5. CI: 95 % bootstrap interval over participants. "
        "Dev picked the checkpoint, so its figures are optimistic."
    )
    columns = st.columns(3)
    for column, (split, report) in zip(columns, reports.items(), strict=False):
        column.plotly_chart(
            confusion_heatmap(report["metrics"]["confusion_matrix"], f"Confusion matrix, {split}"),
            key=f"runs_confusion_{split}",
        )
    curves = roc_curves(reports)
    roc_column = columns[len(reports)]  # next to the confusion matrices
    if curves:
        roc_column.plotly_chart(roc_figure(curves, "ROC curves"), key="runs_roc")
    else:
        roc_column.info("No ROC curve: every split scored holds participants of one class only.")


page_corpus()  # the sidebar's data source, also when this page is opened directly
st.title("Runs")
root = runs_root()
if message := st.session_state.pop("runs_message", None):
    st.success(message)
stamp = runs_stamp(root)
table = load_table(str(root), stamp)
if table.empty:
    st.info(f"No runs yet in `{root}`. Start one on the Train page.")
    st.stop()

st.caption(DEV_NOTE)
if note := no_test_labels_caption(table):
    st.caption(note)
st.caption(
    "Metrics are per participant, at each run's best epoch; CI columns are 95 % bootstrap "
    "intervals over participants. Research software, not a diagnostic device."
)
if caption := baseline_caption(table):
    st.caption(caption)
evaluate_missing_ui(table)
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

paths = tuple(table["path"])
st.subheader("Groups of runs")
if st.toggle("Group runs that differ only by seed or fold", key="runs_group"):
    groups, figures = load_groups(paths, stamp)
    groups_ui(groups, figures, table.set_index("run")["path"])

st.subheader("Compare two runs or groups")
if st.toggle("Compare two runs or groups scored on the same participants", key="runs_compare"):
    results = load_results(paths, stamp)
    configs = {name: r["config"] for name, r in results.items()}
    compare_ui(run_groups.comparable(results, run_groups.group_runs(configs)), key="runs")

st.subheader("One run up close")
name = st.selectbox(
    "Run", selected or table["run"].tolist(), key="runs_inspect", help="From the selected rows"
)
run = table[table["run"] == name].iloc[0]
reason = f": {run['reason']}" if pd.notna(run["reason"]) and run["reason"] else ""
st.caption(f"{run['modality']} run, {run['status']}{reason}")
if run["status"] == "failed":
    with st.expander("Last lines of the log"):
        st.code(folder.log_tail(Path(run["path"])), language=None)
evaluation_ui(run)
if st.button("Delete this run…", key="runs_delete"):
    st.session_state[DELETE_TARGET] = run["path"]
statuses = table.set_index("path")["status"]
if st.session_state.get(DELETE_TARGET) in statuses:
    target = st.session_state[DELETE_TARGET]
    confirm_delete_ui(Path(target), statuses[target])
