"""Train page: set a modality's hyper-parameters, start a run, watch it live, stop, resume.

Every run trains in its own process (:mod:`core.runs.manager`); this page only starts,
polls and stops it, so reloading the page or closing the tab loses nothing. Every widget
is built from the one hyper-parameter table, :mod:`core.hparams`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from core import hparams
from core.data import Corpus
from core.runs import folder, manager
from core.runs.state import FINISHED
from core.training.checkpoint import CheckpointError
from ui import charts
from ui.common import page_corpus, runs_root

POLL_S = 1.0
FORCE_STOP_AFTER_S = 15.0  # a stop request still pending after this offers "Force stop"
RUNNING = ("starting", "running")
BEST_RUN = "best"  # fusion source: let the run pick the best finished one
NOTICE = (
    "Research software, not a diagnostic device. Training runs on this machine; no data leaves it."
)
SHORTCUT_WARNING = (
    "Interviewer prompts leak the label (Ellie asks different follow-ups of depressed "
    "participants), so text that includes them is **shortcut-prone**: its scores overstate "
    "what the participant's own words tell. Use it only as a labelled comparison."
)
SECTIONS = {
    "model": "Model",
    "training": "Training",
    "features": "Features",
    "windows": "Windows",
    "text": "Text model",
}
LABELS = {
    "hidden_size": "Hidden units",
    "num_layers": "LSTM layers",
    "lr": "Learning rate",
    "batch_size": "Batch size",
    "max_epochs": "Epochs",
    "patience": "Early-stopping patience (epochs)",
    "lr_factor": "LR reduction factor on a plateau",
    "lr_patience": "LR plateau patience (epochs)",
    "grad_clip": "Gradient clipping (max norm, 0 = off)",
    "amp": "Mixed precision (CUDA only)",
    "rate_hz": "Frame rate (Hz)",
    "face_features": "Facial feature sets",
    "include_formant": "Add formant frequencies",
    "gate": "Frames to keep",
    "window_s": "Window length (s)",
    "overlap": "Window overlap",
    "n_estimators": "Trees",
    "min_df": "Minimum document frequency",
    "max_df": "Maximum document frequency (share)",
    "ngram_max": "Longest n-gram",
    "min_samples_split": "Minimum samples to split a node",
}
STATE_BADGES = {
    "starting": ":blue-badge[starting]",
    "running": ":blue-badge[running]",
    "completed": ":green-badge[completed]",
    "early-stopped": ":green-badge[early-stopped]",
    "stopped": ":orange-badge[stopped]",
    "failed": ":red-badge[failed]",
}


# ---------------------------------------------------------------------------- plain helpers
def log_grid(low: float, high: float, default: float) -> list[float]:
    """Log-spaced slider stops (1, 2, 3 and 5 per decade) from ``low`` to ``high``."""
    stops = {default, low, high}
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        stops.update(float(f"{m}e{exponent}") for m in (1, 2, 3, 5))
    return sorted(v for v in stops if low <= v <= high)


def decimals(step: float) -> int:
    """Decimal places that show a slider step exactly."""
    return max(0, -math.floor(math.log10(step)))


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


@dataclass
class Progress:
    """Where a run stands, from its status, configuration and epoch records."""

    epoch: int
    total: int
    elapsed_s: float | None
    eta_s: float | None
    without_improvement: int
    patience: int | None
    best_val_loss: float | None
    best_epoch: int | None


def run_progress(
    records: list[dict[str, Any]],
    status: dict[str, Any],
    config: dict[str, Any],
    launched: float | None,
    now: float,
) -> Progress:
    """Epoch x of N, elapsed time, ETA and early-stopping state of a run.

    ``launched`` is when the current process started (None: use the status's start). The
    ETA assumes the remaining epochs take as long as the last five; early stopping may
    end the run sooner.
    """
    training = config.get("training", {})
    total = int(training.get("max_epochs") or status.get("max_epochs") or 1)
    epoch = len(records)
    start = launched or status.get("started")
    end = now if status.get("state") in RUNNING else status.get("heartbeat")
    elapsed = end - start if start and end else None
    eta = None
    if status.get("state") in RUNNING and records:
        recent = [r.get("elapsed_s") or 0.0 for r in records[-5:]]
        eta = sum(recent) / len(recent) * max(total - epoch, 0)
    losses = [(r["val_loss"], r["epoch"]) for r in records if r.get("val_loss") is not None]
    best = min(losses) if losses else (None, None)
    return Progress(
        epoch=epoch,
        total=max(total, epoch),
        elapsed_s=elapsed,
        eta_s=eta,
        without_improvement=int(records[-1].get("epochs_without_improvement") or 0)
        if records
        else 0,
        patience=training.get("patience"),
        best_val_loss=best[0],
        best_epoch=best[1],
    )


def stop_requested_s(run_dir: Path) -> float | None:
    """Seconds since someone asked the run to stop; None when nobody has."""
    try:
        return time.time() - (run_dir / folder.STOP_REQUEST).stat().st_mtime
    except FileNotFoundError:
        return None


def new_run_data_root(corpus: Corpus) -> str | None:
    """The corpus a new run trains on, as ``start_run`` takes it: None for the sample."""
    from core.data.sample import sample_root

    root = Path(corpus.root)
    return None if root.resolve() == sample_root().resolve() else str(root)


def settings_problem(modality: str, values: dict[str, Any]) -> str | None:
    """Why these settings cannot start a run, or None when they can."""
    for h in hparams.for_modality(modality):
        if h.kind == "multi" and not values.get(h.name):
            return f"choose at least one of the {LABELS.get(h.name, h.name).lower()}."
    try:
        hparams.resolve(modality, values)
    except ValueError as error:
        return str(error)
    return None


def recorded_root(data_root: str | None) -> str | None:
    """The data root as a run's configuration records it (None for the sample)."""
    return str(Path(data_root).expanduser().resolve()) if data_root else None


@st.cache_resource(show_spinner=False)
def auto_device() -> str:
    """The device ``auto`` resolves to on this machine."""
    from core.training.device import choose_device

    return str(choose_device("auto"))


# ---------------------------------------------------------------------------- session state
def init_state(runs: list[manager.RunInfo]) -> None:
    """First visit in a session: watch the newest running run, else the newest run."""
    if "train_run" not in st.session_state:
        running = [r for r in runs if r.status in RUNNING]
        newest = (running or runs or [None])[0]
        st.session_state["train_run"] = str(newest.path) if newest else None
        st.session_state["train_reader"] = None


def watch(run_dir: Path) -> None:
    """Make ``run_dir`` the run this session watches (from the next rerun on)."""
    st.session_state["train_run"] = str(run_dir)


def epoch_records(run_dir: Path) -> list[dict[str, Any]]:
    """The run's epoch records, read incrementally by a reader kept in session state."""
    reader = st.session_state.get("train_reader")
    if reader is None or reader.path.parent != run_dir:
        reader = st.session_state["train_reader"] = folder.MetricsReader(run_dir)
    reader.poll()
    return reader.records


# ---------------------------------------------------------------------------- widgets
def hparam_ui(h: hparams.HParam, modality: str) -> Any:
    """One widget for one hyper-parameter, built from its table entry; returns its value."""
    label = LABELS.get(h.name, h.name.replace("_", " ").capitalize())
    key = f"train_{modality}_{h.name}"
    default = h.default_for(modality)
    if h.kind == "bool":
        return st.toggle(label, value=default, key=key, help=h.describe())
    if h.kind == "choice":
        hint = f"; on this machine auto means {auto_device()}" if h.name == "device" else ""
        return st.radio(
            label,
            h.choices,
            h.choices.index(default),
            key=key,
            help=h.describe() + hint,
            horizontal=True,
        )
    if h.kind == "multi":
        return st.multiselect(label, h.choices, default=list(default), key=key, help=h.describe())
    if h.log:
        return st.select_slider(
            label,
            log_grid(h.low, h.high, default),
            value=default,
            format_func=charts.lr_label,
            key=key,
            help=h.describe(),
        )
    if h.kind == "int":
        low, high, step = int(h.low), int(h.high), int(h.step or 1)
        return st.slider(label, low, high, int(default), step, key=key, help=h.describe())
    step = float(h.step or (h.high - h.low) / 100)
    return st.slider(
        label,
        float(h.low),
        float(h.high),
        float(default),
        step,
        format=f"%.{decimals(step)}f",
        key=key,
        help=h.describe(),
    )


def hparams_ui(modality: str) -> dict[str, Any]:
    """Every hyper-parameter of ``modality``, grouped by configuration section."""
    values: dict[str, Any] = {}
    table = hparams.for_modality(modality)
    for section, title in SECTIONS.items():
        entries = [h for h in table if h.section == section]
        if not entries:
            continue
        with st.expander(title, expanded=section in ("model", "training", "text")):
            for h in entries:
                values[h.name] = hparam_ui(h, modality)
    return values


def fusion_sources_ui(runs: list[manager.RunInfo], data_root: str | None) -> dict[str, str | None]:
    """For each source modality, a finished run on the same data, or "best" (None)."""
    st.markdown("**Source runs** (embeddings and text probabilities the fusion combines)")
    sources: dict[str, str | None] = {}
    for modality in ("audio", "face", "text"):
        finished = [
            r
            for r in runs
            if r.modality == modality
            and r.status in ("completed", "early-stopped")
            and r.config.get("data", {}).get("root") == recorded_root(data_root)
        ]
        losses = {str(r.path): r.best_val_loss for r in finished}
        choice = st.selectbox(
            f"{modality.capitalize()} run",
            [BEST_RUN, *losses],
            format_func=lambda p: "Best finished run" if p == BEST_RUN else Path(p).name,
            key=f"train_fusion_{modality}",
            help="Best = the finished run on this data with the lowest validation loss; "
            "when there is none, the fusion run first trains one with default settings.",
        )
        if choice != BEST_RUN and losses[choice] is not None:
            st.caption(f"best validation loss {losses[choice]:.4f}")
        sources[modality] = None if choice == BEST_RUN else choice
    return sources


def watched_run_ui(runs: list[manager.RunInfo]) -> manager.RunInfo | None:
    """Choose the run to show (this session's run by default); None when there are none."""
    if not runs:
        return None
    by_path = {str(r.path): r for r in runs}
    current = st.session_state.get("train_run")
    if current not in by_path:
        current = str(([r for r in runs if r.status in RUNNING] or runs)[0].path)
    st.session_state["train_watch"] = current  # the widget follows this session's run
    chosen = st.selectbox(
        "Show run",
        list(by_path),
        format_func=lambda p: Path(p).name,
        key="train_watch",
        on_change=lambda: watch(Path(st.session_state["train_watch"])),
    )
    return by_path[chosen]


@dataclass
class ResumeRequest:
    """What the Resume tab asks for: which run, how many more epochs, which patience."""

    run_dir: Path
    more_epochs: int
    patience: int


def resume_ui(runs: list[manager.RunInfo]) -> ResumeRequest | None:
    """Pick a finished audio, face or fusion run, more epochs and a patience; None if none."""
    candidates = {str(r.path): r for r in runs if r.modality != "text" and r.status in FINISHED}
    if not candidates:
        st.info("No stopped or finished audio, face or fusion run to resume yet.")
        return None
    shown = st.session_state.get("train_run")
    if shown in candidates and st.session_state.get("train_resume_follows") != shown:
        st.session_state["train_resume_run"] = shown  # offer the run on screen, once
        st.session_state["train_resume_follows"] = shown
    chosen = st.selectbox(
        "Run to resume",
        list(candidates),
        format_func=lambda p: Path(p).name,
        key="train_resume_run",
    )
    info = candidates[chosen]
    st.caption(
        f"{STATE_BADGES[info.status]} after {info.epochs_done} of {info.max_epochs} epochs"
        + (f": {info.reason}" if info.reason else "")
    )
    cap = int(hparams.by_name("max_epochs").high)
    left = (info.max_epochs or 0) - info.epochs_done
    more = st.number_input(
        "More epochs",
        min_value=1,
        max_value=cap,
        value=left if 0 < left <= cap else 10,
        key=f"train_resume_more_{Path(chosen).name}",
        help=f"Epochs to train beyond the {info.epochs_done} done, from the last "
        f"checkpoint (1 to {cap} more, however long the run already is).",
    )
    patience_h = hparams.by_name("patience")
    current = int(info.config.get("training", {}).get("patience") or patience_h.low)
    patience = st.number_input(
        LABELS["patience"],
        min_value=int(patience_h.low),
        max_value=int(patience_h.high),
        value=min(max(current, int(patience_h.low)), int(patience_h.high)),
        key=f"train_resume_patience_{Path(chosen).name}",
        help=patience_h.describe(),
    )
    if info.status == "early-stopped":
        st.caption(
            "Early stopping starts afresh: its counter goes back to 0, so the run trains "
            f"the {more} epochs unless it again goes {patience} epochs without improving."
        )
    return ResumeRequest(Path(chosen), int(more), int(patience))


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


# ---------------------------------------------------------------------------- the run view
def run_view(run_dir: Path, status: dict[str, Any], records: list[dict[str, Any]]) -> None:
    """A run's state, progress and curves (the same for live and finished runs)."""
    config = folder.read_json(run_dir / folder.CONFIG) or {}
    state = status.get("state", "starting")
    modality = config.get("modality", "?")
    st.markdown(f"**{run_dir.name}** · {modality} · {STATE_BADGES.get(state, state)}")
    if state == "failed":
        st.error(f"The run failed: {status.get('reason') or 'no reason was recorded'}")
        with st.expander("Last lines of the log"):
            st.code(folder.log_tail(run_dir), language=None)
    elif state in FINISHED:
        st.success(f"{state.capitalize()}: {status.get('reason') or 'done'}")
    elif state == "starting":
        st.caption("Starting: reading the corpus and preparing the data.")
    launcher = folder.read_json(run_dir / folder.LAUNCHER) or {}
    progress = run_progress(records, status, config, launcher.get("time"), time.time())
    if modality == "text":
        st.caption("Text runs fit TF-IDF and a Random Forest in one step: no epochs.")
        st.metric("Elapsed", duration(progress.elapsed_s))
    else:
        progress_ui(progress, state)
    if not records:
        st.info("No finished epoch yet: the curves appear when the first epoch ends.")
        return
    resets = [r for r in records if r.get("early_stopping_reset")]
    if resets:
        st.caption(f"Epoch {resets[-1]['epoch']}: {resets[-1]['early_stopping_reset']}")
    if modality == "text":
        text_scores_ui(records[-1])
    else:
        curves_ui(records)
    with st.expander("Configuration"):
        st.json(config, expanded=False)


def progress_ui(progress: Progress, state: str) -> None:
    """Epoch x of N, elapsed, ETA, early-stopping counter and best validation loss."""
    st.progress(
        min(progress.epoch / progress.total, 1.0),
        text=f"Epoch {progress.epoch} of {progress.total}",
    )
    elapsed, eta, stopping, best = st.columns(4)
    elapsed.metric("Elapsed", duration(progress.elapsed_s))
    eta.metric(
        "ETA",
        duration(progress.eta_s) if state in RUNNING else "—",
        help="At the pace of the last five epochs; early stopping may end the run sooner.",
    )
    stopping.metric(
        "Early stopping",
        f"{progress.without_improvement} / {progress.patience or '—'}",
        help="Epochs without a better validation loss / patience: the run stops early "
        "when the two are equal.",
    )
    best.metric(
        "Best validation loss",
        f"{progress.best_val_loss:.4f}" if progress.best_val_loss is not None else "—",
        f"epoch {progress.best_epoch}" if progress.best_epoch else None,
        delta_color="off",
        delta_arrow="off",
    )


def curves_ui(records: list[dict[str, Any]]) -> None:
    """Loss curves, the learning rate, and participant-level validation metrics."""
    st.plotly_chart(charts.loss_figure(records))
    lr, metrics = st.columns(2)
    lr.plotly_chart(charts.lr_figure(records))
    metrics.plotly_chart(charts.val_metrics_figure(records))


def text_scores_ui(record: dict[str, Any]) -> None:
    """A text run's one fit: log-losses and participant-level validation metrics."""
    scores = {
        "train log-loss (out-of-fold)": record.get("train_loss"),
        "validation log-loss": record.get("val_loss"),
        **{f"validation {name}": record.get(key) for key, name in charts.VAL_METRICS.items()},
    }
    for row in (list(scores.items())[:4], list(scores.items())[4:]):
        for column, (label, value) in zip(st.columns(4), row, strict=False):
            column.metric(label, f"{value:.3f}" if value is not None else "—")


@st.fragment(run_every=POLL_S)
def live_run(run_dir: Path) -> None:
    """Poll a running run every second: new epochs, progress, and the Stop button."""
    status = manager.read_status(run_dir)
    if status.get("state") not in RUNNING:
        st.rerun()  # the run has ended: redraw the whole page in its final state
    stop_ui(run_dir)
    run_view(run_dir, status, epoch_records(run_dir))


# ---------------------------------------------------------------------------- the page
corpus = page_corpus()
st.title("Train")
st.caption(NOTICE)
root = runs_root()
runs = manager.list_runs(root)
init_state(runs)
settings, view = st.columns([1, 2], gap="large")

with view:
    st.subheader("Run")
    shown = watched_run_ui(runs)
    if shown is None:
        st.info(f"No runs yet in `{root}`. Set the hyper-parameters and press Start.")
    elif shown.status in RUNNING:
        live_run(shown.path)
    else:
        run_view(shown.path, manager.read_status(shown.path), epoch_records(shown.path))

with settings:
    new_tab, resume_tab = st.tabs(["New run", "Resume"])
    with resume_tab:
        chosen = resume_ui(runs)
        if chosen and st.button("Resume", key="train_resume"):
            try:
                watch(
                    manager.resume_run(
                        chosen.run_dir, more_epochs=chosen.more_epochs, patience=chosen.patience
                    )
                )
            except (ValueError, OSError, CheckpointError) as error:
                st.error(f"Cannot resume: {error}")
            else:
                st.rerun()

    with new_tab:
        if corpus is None:
            st.info("Choose a corpus in the sidebar to start a new run.")
            st.stop()
        data_root = new_run_data_root(corpus)
        st.caption(f"Data: `{corpus.root}`")
        modality = st.segmented_control(
            "Modality", hparams.MODALITIES, default="text", required=True, key="train_modality"
        )
        values = hparams_ui(modality)
        seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="train_seed")
        sources = fusion_sources_ui(runs, data_root) if modality == "fusion" else None
        if values.get("speakers", "participant") != "participant":
            st.warning(SHORTCUT_WARNING)
        problem = settings_problem(modality, values)
        if problem:
            st.error(f"Cannot start: {problem}")
        if st.button(
            "Start",
            key="train_start",
            type="primary",
            disabled=problem is not None,
        ):
            try:
                run_dir = manager.start_run(modality, values, data_root, seed, root, sources)
            except (ValueError, OSError) as error:
                st.error(f"Cannot start: {error}")
            else:
                watch(run_dir)
                st.rerun()
