"""UI helpers shared by every page: the data source and the cached corpus."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from core.data import Corpus, DataError
from core.pipeline.config import DEFAULT_RUNS_ROOT  # noqa: E402

SAMPLE_LABEL = "Bundled synthetic sample"
FOLDER_LABEL = "DAIC-WOZ folder on this machine"


@st.cache_resource(show_spinner=False)
def open_corpus(root: str, stamp: float) -> Corpus:
    """Open (index) a corpus; ``stamp`` changes when the root folder changes."""
    return Corpus(root)


def corpus_stamp(root: Path) -> float:
    """A cheap change marker for a corpus root (its own and its label files' mtimes)."""
    stamps = [root.stat().st_mtime]
    stamps += [p.stat().st_mtime for p in root.glob("*.csv")]
    return max(stamps)


def ensure_sample_ui() -> Path:
    """Return the bundled sample's root, generating it (with progress) on first use."""
    from core.data.sample import SAMPLE_ROOT, ensure_sample, sample_ready

    if sample_ready():
        return SAMPLE_ROOT
    bar = st.progress(0.0, text="Generating the synthetic sample corpus (first start only)")

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Generating sample: {done}/{total} sessions")

    root = ensure_sample(progress=progress)
    bar.empty()
    return root


def data_source_ui() -> Corpus | None:
    """Sidebar: choose the data source; return the opened corpus or None."""
    with st.sidebar:
        st.header("Data source")
        choice = st.radio(
            "Corpus",
            [SAMPLE_LABEL, FOLDER_LABEL],
            key="data_source",
            help="The sample is synthetic (IDs from 900). A real corpus must be in the "
            "DAIC-WOZ layout: NNN_P folders or NNN_P.zip archives and the split files.",
        )
        if choice == SAMPLE_LABEL:
            root = ensure_sample_ui()
        else:
            typed = st.text_input("Corpus folder", key="data_folder", placeholder="/data/daic-woz")
            if not typed:
                st.info("Type the folder that holds the sessions and split files.")
                return None
            root = Path(typed).expanduser()
        try:
            corpus = open_corpus(str(root), corpus_stamp(root))
        except (DataError, OSError) as error:
            st.error(f"Cannot open this corpus: {error}")
            return None
        splits = corpus.splits()
        st.caption(
            " · ".join(f"{name} {s['n']} ({s['depressed']} dep.)" for name, s in splits.items())
        )
        if corpus.problems:
            st.warning(f"{len(corpus.problems)} corpus problem(s): see the Data page.")
        st.session_state["data_root"] = str(root)
        return corpus


def runs_root() -> Path:
    """Where run folders live: ``$DAIC_RUNS_ROOT`` if set, else ``checkpoints/``."""
    return Path(os.environ.get("DAIC_RUNS_ROOT") or DEFAULT_RUNS_ROOT)


def page_corpus() -> Corpus | None:
    """The corpus chosen in the sidebar that ``app.py`` drew before it ran this page.

    Page scripts live in ``screens/``, a folder Streamlit does not discover on its own, so
    every URL (``/``, a bookmarked ``/train``, the first request after a restart) goes
    through ``app.py``'s navigation and sidebar first.
    """
    return st.session_state.get("corpus")
