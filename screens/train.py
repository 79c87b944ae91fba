"""Train page: set a modality's hyper-parameters, start a run, watch it live, stop, resume.

Every run trains in its own process (:mod:`core.runs.manager`); this page only starts,
polls and stops it, so reloading the page or closing the tab loses nothing. The widgets
come from :mod:`ui.train_settings` (built from :mod:`core.hparams`), the run view from
:mod:`ui.train_views`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import streamlit as st

from core.data import Corpus
from core.data.text import SPEAKER_CHOICES
from core.errors import UserError
from core.kinds import KINDS
from core.runs import folder, manager
from core.runs import status as run_status
from core.runs.state import ACTIVE
from ui.common import page_corpus, runs_root
from ui.run_choice import is_search_run
from ui.train_settings import (
    MODALITY,
    hparams_ui,
    remember_form,
    restore_form,
    resume_ui,
    settings_problem,
    sources_ui,
)
from ui.train_views import run_view, stop_ui

POLL_S = 1.0
EXIT_WAIT_S = 60.0  # Resume waits this long for an ended run's process to exit
NOTICE = (
    "Research software, not a diagnostic device. Training runs on this machine; no data leaves it."
)
SHORTCUT_WARNING = (
    "Interviewer prompts leak the label (Ellie asks different follow-ups of depressed "
    "participants), so text that includes them is **shortcut-prone**: its scores overstate "
    "what the participant's own words tell. Use it only as a labelled comparison."
)
RUN, READER = "train_run", "train_reader"  # the run this session watches, and its reader
PENDING = "train_start_pending"  # Start was pressed; the run is not launched yet


def default_run(runs: list[manager.RunInfo]) -> manager.RunInfo | None:
    """The run a session shows when it has chosen none: the newest active, else the newest.

    An ordinary run comes before an experiment's search runs, which are one of many.
    """
    offered = [r for r in runs if not is_search_run(r.config)] or runs
    return ([r for r in offered if r.status in ACTIVE] or offered or [None])[0]


def init_state(runs: list[manager.RunInfo]) -> None:
    """First visit in a session: watch :func:`default_run`.

    The New run form starts with the settings of that run (a reload or a restarted
    server shows the settings of the run on screen, not the defaults), or with the
    values it had when this session last left the page. An experiment's search run
    leaves the defaults: its settings are one trial's (often a single epoch), not a
    run anyone set up to train.
    """
    if RUN not in st.session_state:
        chosen = default_run(runs)
        st.session_state[RUN] = str(chosen.path) if chosen else None
        st.session_state[READER] = None
    shown = next((r for r in runs if str(r.path) == st.session_state[RUN]), None)
    restore_form(shown.config if shown and not is_search_run(shown.config) else None)


def watch(run_dir: Path) -> None:
    """Make ``run_dir`` the run this session watches (from the next rerun on)."""
    st.session_state[RUN] = str(run_dir)


def epoch_records(run_dir: Path) -> list[dict[str, Any]]:
    """The run's epoch records, read incrementally by a reader kept in session state."""
    reader = st.session_state.get(READER)
    if reader is None or reader.path.parent != run_dir:
        reader = st.session_state[READER] = folder.MetricsReader(run_dir)
    reader.poll()
    return reader.records


def new_run_data_root(corpus: Corpus) -> str | None:
    """The corpus a new run trains on, as ``start_run`` takes it: None for the sample."""
    from core.data.sample import sample_root

    root = Path(corpus.root)
    return None if root.resolve() == sample_root().resolve() else str(root)


def watched_run_ui(runs: list[manager.RunInfo]) -> manager.RunInfo | None:
    """Choose the run to show (this session's run by default); None when there are none.

    Without one, :func:`default_run`. The selectbox's own key mirrors :data:`RUN` on every
    rerun, because a button further down may change the watched run after it is drawn.
    """
    if not runs:
        return None
    by_path = {str(r.path): r for r in runs}
    current = st.session_state.get(RUN)
    if current not in by_path:
        current = str(default_run(runs).path)
    st.session_state["train_watch"] = current
    chosen = st.selectbox(
        "Show run",
        list(by_path),
        format_func=lambda p: folder.run_name(Path(p)),
        key="train_watch",
        on_change=lambda: watch(Path(st.session_state["train_watch"])),
    )
    return by_path[chosen]


@st.fragment(run_every=POLL_S)
def live_run(run_dir: Path) -> None:
    """Poll a running run every second: new epochs, progress, and the Stop button."""
    status = manager.read_status(run_dir)
    if status.get("state") not in ACTIVE:
        st.rerun()  # the run has ended: redraw the whole page in its final state
    stop_ui(run_dir)
    run_view(run_dir, status, epoch_records(run_dir))


def resume_tab(runs: list[manager.RunInfo]) -> Path | None:
    """The Resume tab: a finished run, more epochs and a patience, and the button.

    Returns the resumed run's folder (now *starting*), or None.
    """
    chosen = resume_ui(runs, st.session_state.get(RUN))
    if chosen and st.button("Resume", key="train_resume"):
        wait_for_exit(chosen.run_dir)
        try:
            run_dir = manager.resume_run(
                chosen.run_dir, more_epochs=chosen.more_epochs, patience=chosen.patience
            )
        except (UserError, OSError) as error:
            st.error(f"Cannot resume: {error}")
        else:
            watch(run_dir)
            return run_dir
    return None


def wait_for_exit(run_dir: Path) -> None:
    """Wait while the process of an ended run still finishes (it scores its best model).

    A run that was just stopped says so at once, but its process exits only after its
    evaluation; resuming it meanwhile would be refused as busy.
    """
    if not run_status.judge(run_dir).alive:
        return
    deadline = time.monotonic() + EXIT_WAIT_S
    with st.spinner("Waiting for the run's process to finish its evaluation and exit"):
        while run_status.judge(run_dir).alive and time.monotonic() < deadline:
            time.sleep(0.2)


def start_blocker() -> str | None:
    """Why Start is off: the run on screen is still starting or running; else None.

    Read afresh from its folder, so a second press of Start, sent before the page showed
    the first press's run, is refused rather than starting a second run.
    """
    shown = st.session_state.get(RUN)
    if not shown or not Path(shown).is_dir():
        return None
    state = manager.read_status(Path(shown)).get("state")
    if state not in ACTIVE:
        return None
    return (
        f"Start is off while the run on screen, {folder.run_name(Path(shown))}, is {state}: "
        "stop it, or show another run, to start a new one."
    )


def press_start() -> None:
    """Start's callback, before the page runs: mark the start pending and say so at once."""
    st.session_state[PENDING] = True
    modality = st.session_state.get(MODALITY)
    st.toast(f"Starting a new {modality} run" if modality else "Starting a new run")


def start(
    modality: str,
    values: dict[str, Any],
    data_root: str | None,
    seed: int,
    root: Path,
    sources: dict[str, str | None] | None,
) -> Path | None:
    """Launch the run Start asked for; its folder (now *starting*), or None on failure."""
    with st.spinner(f"Starting the {modality} run: creating its folder, launching its process"):
        try:
            run_dir = manager.start_run(modality, values, data_root, seed, root, sources)
        except (UserError, OSError) as error:
            st.error(f"Cannot start: {error}")
            return None
    watch(run_dir)
    return run_dir


def new_run_tab(corpus: Corpus | None, runs: list[manager.RunInfo], root: Path) -> Path | None:
    """The New run tab: modality, hyper-parameters, seed, fusion sources, and Start.

    Start launches at most one run per press: it is off while a start is pending or the
    run on screen is starting or running. Returns the started run's folder, or None.
    """
    if corpus is None:
        st.session_state.pop(PENDING, None)  # no corpus, no start: a press is not kept
        st.info("Choose a corpus in the sidebar to start a new run.")
        return None
    data_root = new_run_data_root(corpus)
    st.caption(f"Data: `{corpus.root}`")
    modality = st.segmented_control(
        "Modality", tuple(KINDS), default="text", required=True, key=MODALITY
    )
    values = hparams_ui(modality)
    seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="train_seed")
    kind = KINDS[modality]
    sources = sources_ui(runs, kind.sources, str(corpus.root)) if kind.sources else None
    remember_form(modality)
    if SPEAKER_CHOICES.get(values.get("speakers"), {}).get("shortcut_prone"):
        st.warning(SHORTCUT_WARNING)
    problem = settings_problem(modality, values)
    if problem:
        st.error(f"Cannot start: {problem}")
    blocker, pending = start_blocker(), st.session_state.get(PENDING, False)
    st.button(
        "Start",
        key="train_start",
        type="primary",
        disabled=problem is not None or blocker is not None or pending,
        on_click=press_start,
    )
    if not st.session_state.pop(PENDING, False):
        if blocker:
            st.caption(blocker)
        return None
    if blocker or problem:  # pressed before the page could turn Start off
        st.warning(f"Not started: {blocker or problem}")
        return None
    run_dir = start(modality, values, data_root, seed, root, sources)
    if run_dir is not None and (blocker := start_blocker()):
        st.caption(blocker)  # why Start, drawn off for this press, stays off
    return run_dir


corpus = page_corpus()
st.title("Train")
st.caption(NOTICE)
root = runs_root()
runs = manager.list_runs(root)
init_state(runs)
settings, view = st.columns([1, 2], gap="large")

with settings:  # first: a run that Start launches is shown in this same page run
    new_tab, resume = st.tabs(["New run", "Resume"])
    with resume:
        resumed = resume_tab(runs)
    with new_tab:
        started = new_run_tab(corpus, runs, root)
if started or resumed:
    runs = manager.list_runs(root)

with view:
    st.subheader("Run")
    shown = watched_run_ui(runs)
    if shown is None:
        st.info(f"No runs yet in `{root}`. Set the hyper-parameters and press Start.")
    elif shown.status in ACTIVE:
        live_run(shown.path)
    else:
        run_view(shown.path, manager.read_status(shown.path), epoch_records(shown.path))
