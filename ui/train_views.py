"""The Train page's run view: state, progress, curves or scores, and the Stop button.

The numbers come from :mod:`core.runs.progress`; these functions only draw them.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import streamlit as st

from core.kinds import KINDS
from core.runs import folder, manager
from core.runs.progress import Progress, run_progress, state_note, stop_requested_s
from core.runs.state import ACTIVE
from ui import charts

ELAPSED_HELP = (
    "Training time: what its epochs took, across every resume, and the epoch under way "
    "(a text run: its one fit). Setting up before training begins is not counted."
)
FORCE_STOP_AFTER_S = 15.0  # a stop request still pending after this offers "Force stop"
STATE_BADGES = {
    "starting": ":blue-badge[starting]",
    "running": ":blue-badge[running]",
    "completed": ":green-badge[completed]",
    "early-stopped": ":green-badge[early-stopped]",
    "stopped": ":orange-badge[stopped]",
    "failed": ":red-badge[failed]",
}


def duration(seconds: float | None) -> str:
    """``1 h 02 min``, ``3 min 05 s`` or ``12 s``; an em dash when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def stop_ui(run_dir: Path) -> None:
    """Stop a running run; if it ignores the request for a while, offer to force it."""
    waited = stop_requested_s(run_dir)
    pending = waited is not None
    if st.button("Stop", key="train_stop", disabled=pending):
        manager.request_stop(run_dir)
        waited = 0.0
    if waited is None:
        return
    st.caption("Stop requested: the run keeps its last complete epoch and exits.")
    if waited > FORCE_STOP_AFTER_S and st.button("Force stop", key="train_force_stop"):
        with st.spinner("Stopping the run's process"):
            manager.stop_run(run_dir, timeout_s=5.0)


def state_ui(run_dir: Path, status: dict[str, Any], launcher: dict[str, Any]) -> None:
    """What the run's state means: its error and log, how it ended, or what it does to start."""
    note = state_note(status, launcher, time.time())
    if note is None:
        return
    level, text = note
    getattr(st, level)(text)
    if status.get("state") == "failed":
        with st.expander("Last lines of the log"):
            st.code(folder.log_tail(run_dir), language=None)


def run_view(run_dir: Path, status: dict[str, Any], records: list[dict[str, Any]]) -> None:
    """A run's state, progress and curves (the same for live and finished runs)."""
    config = folder.read_json(run_dir / folder.CONFIG) or {}
    state = status.get("state", "starting")
    modality = config.get("modality", "?")
    st.markdown(f"**{run_dir.name}** · {modality} · {STATE_BADGES.get(state, state)}")
    launcher = folder.read_json(run_dir / folder.LAUNCHER) or {}
    state_ui(run_dir, status, launcher)
    progress = run_progress(records, status, config, launcher.get("time"), time.time())
    kind = KINDS.get(modality)
    has_epochs = kind is None or kind.has_epochs
    if has_epochs:
        progress_ui(progress, state)
    else:
        st.caption(f"{modality.capitalize()} runs fit in one step: no epochs.")
        st.metric("Elapsed", duration(progress.elapsed_s), help=ELAPSED_HELP)
    if not records:
        st.info("No finished epoch yet: the curves appear when the first epoch ends.")
        return
    resets = [r for r in records if r.get("early_stopping_reset")]
    if resets:
        st.caption(f"Epoch {resets[-1]['epoch']}: {resets[-1]['early_stopping_reset']}")
    if has_epochs:
        curves_ui(records)
    else:
        text_scores_ui(records[-1])
    with st.expander("Configuration"):
        st.json(config, expanded=False)


def progress_ui(progress: Progress, state: str) -> None:
    """Epoch x of N, elapsed, ETA, early-stopping counter and best validation loss."""
    st.progress(
        min(progress.epoch / progress.total, 1.0),
        text=f"Epoch {progress.epoch} of {progress.total}",
    )
    elapsed, eta, stopping, best = st.columns(4)
    elapsed.metric("Elapsed", duration(progress.elapsed_s), help=ELAPSED_HELP)
    eta.metric(
        "ETA",
        duration(progress.eta_s) if state in ACTIVE else "—",
        help="At the pace of the last five epochs; early stopping may end the run sooner.",
    )
    stopping.metric(
        "Early stopping",
        f"{progress.without_improvement} / {progress.patience or '—'}",
        help="Epochs without a better validation loss / patience: the run stops early "
        "when the two are equal.",
    )
    best.metric(
        "Best val. loss",
        f"{progress.best_val_loss:.4f}" if progress.best_val_loss is not None else "—",
        f"epoch {progress.best_epoch}" if progress.best_epoch else None,
        help="Best validation loss: the lowest so far, and the epoch that reached it.",
        delta_color="off",
        delta_arrow="off",
    )


def curves_ui(records: list[dict[str, Any]]) -> None:
    """Loss curves, the learning rate, and participant-level validation metrics."""
    st.plotly_chart(charts.loss_figure(records))
    lr, metrics = st.columns(2)
    lr.plotly_chart(charts.lr_figure(records))
    metrics.plotly_chart(charts.val_metrics_figure(records))


SCORE_COLUMNS = 3
"""Metrics side by side in a text run's scores: a label as long as "train, out-of-fold"
still fits in the run panel of a 1280-pixel-wide window."""


def text_scores_ui(record: dict[str, Any]) -> None:
    """A text run's one fit: log-losses and participant-level validation metrics.

    Each group has a heading, so the labels stay short enough to be read whole; the full
    name of each figure is its help.
    """
    losses = [
        (
            "train, out-of-fold",
            "train_loss",
            "Training log-loss, out-of-fold: each "
            "training participant scored by a forest fitted without them.",
        ),
        ("validation", "val_loss", "Validation log-loss, per participant."),
    ]
    metrics = [
        (name, key, f"Validation {name}, per participant (dev split).")
        for key, name in charts.VAL_METRICS.items()
    ]
    for heading, scores in (("Log-loss", losses), ("Validation, per participant", metrics)):
        st.markdown(f"**{heading}**")
        for start in range(0, len(scores), SCORE_COLUMNS):
            row = scores[start : start + SCORE_COLUMNS]
            for column, (label, key, help_) in zip(st.columns(SCORE_COLUMNS), row, strict=False):
                value = record.get(key)
                column.metric(label, f"{value:.3f}" if value is not None else "—", help=help_)
