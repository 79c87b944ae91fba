"""Cached loaders for the Explain and Predict pages (plain arguments, no widgets).

Explanations are kept with ``st.cache_resource`` (they are read-only and hold large
arrays, so they are shared rather than copied); each key carries the checkpoint's
modification time, so retraining or resuming a run is never served stale results.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.data import Corpus
from core.data.cache import FrameCache
from core.explain import predict
from core.explain.neural import SessionExplanation
from core.explain.text import term_importances
from core.pipeline.config import read_config, resolve_data_root
from core.pipeline.text import load_text_run, participant_documents
from core.runs import folder
from core.runs.table import best_checkpoint
from ui.common import corpus_stamp, open_corpus


def checkpoint_stamp(run_dir: str, which: str) -> float:
    """Modification time of the checkpoint an explanation reads (0 when missing)."""
    if which == "latest" and (Path(run_dir) / folder.LATEST).exists():
        path = Path(run_dir) / folder.LATEST
    else:
        path = best_checkpoint(Path(run_dir))
    return path.stat().st_mtime if path is not None and path.exists() else 0.0


def corpus_for(root: str, uploaded: bool) -> Corpus:
    """The corpus an explanation reads (an upload's private one is not cached)."""
    return Corpus(root) if uploaded else open_corpus(root, corpus_stamp(Path(root)))


@st.cache_resource(show_spinner=False, max_entries=12)
def neural_explanation(
    run_dir: str, which: str, stamp: float, root: str, uploaded: bool, pid: int
) -> tuple[SessionExplanation, dict[str, float]]:
    """A session's explanation under one run, and the run's training-mean features.

    Frames of the active corpus go through the frame cache; an upload's never do, so
    nothing derived from an upload is written to disk.
    """
    cache = None if uploaded else FrameCache()
    explanation, normaliser = predict.explain_neural_run(
        Path(run_dir), corpus_for(root, uploaded), pid, which, cache
    )
    names = normaliser.feature_names_in_ or []
    return explanation, dict(zip(names, normaliser.mean_.tolist(), strict=True))


@st.cache_resource(show_spinner=False, max_entries=4)
def text_model(run_dir: str, stamp: float):
    """A text run's fitted pipeline (hash-checked by :func:`load_text_run`)."""
    return load_text_run(Path(run_dir))


@st.cache_data(show_spinner=False, max_entries=8)
def text_documents(run_dir: str, split: str) -> tuple[list[int], list[str], list[int]]:
    """A text run's documents of one split, from the corpus the run was trained on."""
    config = read_config(Path(run_dir))
    corpus = Corpus(resolve_data_root(config))
    ids, docs, labels, _ = participant_documents(corpus, split, config["text"]["speakers"])
    return ids, docs, labels.tolist()


@st.cache_data(show_spinner=False, max_entries=16)
def training_ids(run_dir: str) -> set[int]:
    """Participants a run was trained on (see :func:`core.explain.predict.training_ids`)."""
    return predict.training_ids(Path(run_dir))


@st.cache_resource(show_spinner=False, max_entries=16)
def text_score(run_dir: str, stamp: float, root: str, uploaded: bool, pid: int):
    """A text run's probability for one participant, with the cached pipeline."""
    pipeline = text_model(run_dir, stamp)
    return predict.score_text(Path(run_dir), corpus_for(root, uploaded), pid, pipeline)


@st.cache_resource(show_spinner=False, max_entries=8)
def fusion_score(run_dir: str, stamp: float, root: str, uploaded: bool, pid: int):
    """The learned fusion's output for one participant (frames cached as for explanations)."""
    cache = None if uploaded else FrameCache()
    return predict.score_fusion(Path(run_dir), corpus_for(root, uploaded), pid, cache)


@st.cache_data(show_spinner=False, max_entries=16)
def text_terms(run_dir: str, stamp: float, top_k: int) -> pd.DataFrame:
    """A text run's top n-grams on its training documents (:func:`term_importances`)."""
    _, docs, labels = text_documents(run_dir, "train")
    return term_importances(text_model(run_dir, stamp), docs, labels, top_k=top_k)
