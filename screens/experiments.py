"""Experiments page: compose, start, watch, stop, resume and promote an experiment.

An experiment trains each configuration of a search over several seeds (and folds) in
the background (:mod:`core.experiment`: Optuna for the search, Dask for the runs), so
reloading the page or closing the tab loses nothing. The form comes from
:mod:`ui.experiment_compose`; the view of one experiment (state grid, best so far with its
interval, parallel coordinates, the objective per configuration beside the trivial
baselines, promotion, CSV downloads, comparison) from :mod:`ui.experiment_views`, polled
once a second while the experiment runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import streamlit as st

from core.data import Corpus
from core.errors import UserError
from core.experiment import list_experiments, spec_from_dict, start_experiment
from core.experiment.estimate import duration_text, estimate
from ui.common import no_corpus_text, page_corpus, runs_root
from ui.experiment_compose import compose_ui
from ui.experiment_status import page_status
from ui.experiment_tables import experiment_stamp
from ui.experiment_views import (
    MESSAGE,
    active,
    charts_ui,
    compare_configurations_ui,
    controls_ui,
    downloads_ui,
    grid_ui,
    launching,
    promotion_ui,
    remember_launch,
    summary_ui,
)

POLL_S = 1.0
WATCH = "experiments_watch"
COMPOSE, CLOSE_FORM = "experiments_compose", "experiments_close_form"
NOTICE = (
    "An experiment trains every configuration over several seeds (and folds) so that "
    "settings are compared beyond the noise of one run; the test split is read once, "
    "when the best configuration is promoted. Research software, not a diagnostic device."
)


@st.cache_data(show_spinner=False, max_entries=8)
def load_status(path: str, stamp: tuple) -> dict[str, Any]:
    """An experiment's status (:func:`core.experiment.experiment_status`).

    ``stamp`` (:func:`experiment_stamp`) says when anything changed; each configuration's
    figures are kept until its own runs change (:func:`ui.experiment_status.page_status`).
    """
    return page_status(path)


def data_root_of(corpus: Corpus) -> str | None:
    """The corpus an experiment trains on, as ``start_experiment`` takes it (None: sample)."""
    from core.data.sample import sample_root

    root = Path(corpus.root)
    return None if root.resolve() == sample_root().resolve() else str(root)


def new_experiment_ui(corpus: Corpus | None, root: Path) -> None:
    """The form, a plain summary of what it will train, and Start."""
    if corpus is None:
        st.info(no_corpus_text("to start an experiment"))
        return
    st.text(f"Data: {corpus.root}")
    composition = compose_ui()
    try:
        spec = spec_from_dict(composition.spec, source="the form")
    except UserError as error:
        st.error("Cannot start yet:")
        st.text(str(error))
        return
    plan = estimate(spec, root, composition.workers or 1, composition.scheduler)
    folds = f" x {spec.folds} folds" if spec.folds else ""
    seeds = f"{len(spec.seeds)} seed{'s' if len(spec.seeds) > 1 else ''}"
    configurations = f"{spec.trials} configuration{'s' if spec.trials > 1 else ''}"
    epochs = f"each up to {plan['max_epochs']} epochs, " if plan["max_epochs"] else ""
    where = (
        f"{plan['workers']} worker{'s' if plan['workers'] > 1 else ''} on this machine"
        if composition.scheduler is None
        else f"the scheduler at {composition.scheduler}"
    )
    st.text(
        f"{plan['runs']} runs: {configurations} x {seeds}{folds}, {epochs}on {where}.\n"
        + (
            f"Rough time: {duration_text(plan['total_s'])} at most."
            if plan["total_s"] is not None
            else f"Rough time: unknown ({plan['basis']})."
        )
    )
    if plan["total_s"] is not None:
        st.caption(
            f"How it was estimated, from wall times measured on this machine: {plan['basis']}. "
            "Early stopping usually ends runs sooner."
        )
    if st.button("Start experiment", type="primary", key="experiments_start"):
        launched = time.time()
        try:
            with st.spinner("Setting up the experiment's folder and folds"):
                path = start_experiment(
                    spec,
                    data=data_root_of(corpus),
                    workers=composition.workers,
                    scheduler=composition.scheduler,
                )
        except (UserError, OSError) as error:
            st.error("Cannot start:")
            st.text(str(error))
        else:
            remember_launch(path, "driver", launched)
            st.session_state[WATCH] = str(path)
            st.session_state[CLOSE_FORM] = True  # the form makes way for the new experiment
            st.session_state[MESSAGE] = f"Started {spec.name}."
            st.rerun()


def experiment_view(path: str) -> dict[str, Any]:
    """One experiment: summary, controls, grid, best, charts, promotion, downloads."""
    status = load_status(path, experiment_stamp(path))
    summary_ui(status)
    controls_ui(status)
    grid_ui(status)
    charts_ui(status)
    st.subheader("Promotion to the test split")
    promotion_ui(status)
    downloads_ui(status)
    return status


@st.fragment(run_every=POLL_S)
def live_view(path: str) -> None:
    """Poll a running experiment every second; redraw the page when it ends."""
    status = experiment_view(path)
    if not active(status) and not launching(path):
        st.rerun(scope="app")


def watched_ui(experiments: list[dict]) -> str:
    """Choose the experiment to show (the one just started, else the newest)."""
    paths = [e["path"] for e in experiments]
    if st.session_state.get(WATCH) not in paths:
        st.session_state[WATCH] = paths[0]
    names = {e["path"]: e["name"] for e in experiments}  # the state is shown below
    return st.selectbox("Experiment", paths, format_func=names.get, key=WATCH)


corpus = page_corpus()
st.title("Experiments")
st.caption(NOTICE)
root = runs_root()
if message := st.session_state.pop(MESSAGE, None):
    st.success(message)
experiments = list_experiments(root)
if not experiments:  # the form is all there is to do: shown open, with no switch to close it
    with st.container(border=True):
        new_experiment_ui(corpus, root)
    st.info("No experiments yet. Compose one above and press Start.")
    st.text(f"Experiments are kept in {root / 'experiments'}")
    st.stop()
if st.session_state.pop(CLOSE_FORM, False):
    st.session_state[COMPOSE] = False  # the experiment just started is shown instead
if st.toggle("Compose a new experiment", key=COMPOSE):
    with st.container(border=True):
        new_experiment_ui(corpus, root)

path = watched_ui(experiments)
status = load_status(path, experiment_stamp(path))
if active(status) or launching(path):
    live_view(path)
else:
    status = experiment_view(path)
    st.subheader("Compare two configurations")
    compare_configurations_ui(status)
