"""Cached loaders for the Explain and Predict pages (plain arguments, no widgets).

Each run is loaded once (model, configuration, normaliser; a text run's fitted pipeline;
a fusion model) and each participant's scores are kept per run, so the fusion reuses the
windows and embeddings its source runs already computed for the modality scores, and an
explanation reuses the windows its score cut. Models, scores and explanations are kept
with ``st.cache_resource`` (read-only, holding large arrays, so shared rather than
copied); each key carries the checkpoint's modification time, so retraining or resuming a
run is never served stale results.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd
import streamlit as st

from core import scoring
from core.config import open_corpus as open_run_corpus
from core.data import Corpus
from core.data.cache import FrameCache
from core.explain import predict
from core.explain.text import term_importances
from core.kinds import KINDS, LoadedRun, best_model_file
from core.kinds.neural import NeuralKind
from core.kinds.text_run import participant_documents
from core.runs import folder
from core.runs.folder import read_config
from core.scoring import FusionScore, NeuralScore, TextScore
from ui.common import corpus_stamp, open_corpus

if TYPE_CHECKING:  # the explanation module imports Captum, which takes seconds to load
    from core.explain.neural import SessionExplanation


_Score = TypeVar("_Score")


def _of(expected: type[_Score], score: object) -> _Score:
    """``score``, checked to be what its run's kind gives (a wrong kind is a bug, said so)."""
    if not isinstance(score, expected):
        raise TypeError(f"expected a {expected.__name__}, got a {type(score).__name__}")
    return score


def reads_windows(modality: str) -> bool:
    """Whether runs of this kind read windows of frames: scored and explained per window.

    Such runs also keep a latest checkpoint beside the best one.
    """
    return isinstance(KINDS.get(modality), NeuralKind)


def explained_kinds() -> list[str]:
    """The kinds Explain and Predict explain, in their order.

    Those scored from a participant's own files: the windowed ones first, the latest
    registered first (face, audio), then the others (text).
    """
    own = [name for name, kind in KINDS.items() if not kind.sources]
    windowed = [m for m in own if reads_windows(m)]
    return [*reversed(windowed), *(m for m in own if m not in windowed)]


def checkpoint_stamp(run_dir: str, which: str) -> float:
    """Modification time of the checkpoint an explanation reads (0 when missing)."""
    if which == "latest" and (Path(run_dir) / folder.LATEST).exists():
        path: Path | None = Path(run_dir) / folder.LATEST
    else:
        path = best_model_file(Path(run_dir))
    return path.stat().st_mtime if path is not None and path.exists() else 0.0


def corpus_for(root: str, uploaded: bool) -> Corpus:
    """The corpus an explanation reads (an upload's private one is not cached)."""
    return Corpus(root) if uploaded else open_corpus(root, corpus_stamp(Path(root)))


def frame_cache(uploaded: bool) -> FrameCache | None:
    """The frame cache for the active corpus; None for an upload.

    Nothing derived from an uploaded session is written to disk.
    """
    return None if uploaded else FrameCache()


@st.cache_resource(show_spinner=False, max_entries=16)
def loaded_run(run_dir: str, which: str, stamp: float) -> LoadedRun:
    """Any run's best (or latest) model, loaded once by its kind (:func:`core.scoring.load_run`).

    A torch model is shared by every session, so its parameters are frozen for good
    (nothing here trains it; Integrated Gradients needs gradients of the inputs only).
    """
    run = scoring.load_run(Path(run_dir), which)
    if hasattr(run.model, "requires_grad_"):
        run.model.requires_grad_(False)
    return run


def neural_run(run_dir: str, which: str, stamp: float) -> tuple[Any, dict[str, Any], Any]:
    """An audio or face run's ``(model, config, normaliser)`` (:func:`loaded_run`)."""
    run = loaded_run(run_dir, which, stamp)
    return run.model, run.config, run.normaliser


@st.cache_resource(show_spinner=False, max_entries=32)
def neural_score(
    run_dir: str, which: str, stamp: float, root: str, uploaded: bool, pid: int
) -> NeuralScore:
    """One participant's windows, window probabilities and embedding under one run.

    Two entries per participant (audio and face); a 15-minute session's windows take a
    few MB, so the last 16 participants stay in memory.
    """
    run, corpus = loaded_run(run_dir, which, stamp), corpus_for(root, uploaded)
    return _of(NeuralScore, scoring.score_participant(run, corpus, pid, frame_cache(uploaded)))


@st.cache_resource(show_spinner=False, max_entries=12)
def neural_explanation(
    run_dir: str, which: str, stamp: float, root: str, uploaded: bool, pid: int
) -> tuple[SessionExplanation, dict[str, float]]:
    """A session's explanation under one run, and the run's training-mean features.

    Returns ``(SessionExplanation, dict)``. Reuses the run and the windows that
    :func:`neural_score` keeps; only the explanation itself is computed here.
    """
    model, _, normaliser = neural_run(run_dir, which, stamp)
    windows = neural_score(run_dir, which, stamp, root, uploaded, pid).windows
    explanation = predict.explain_windows(model, windows)
    names = normaliser.feature_names_in_ or []
    return explanation, dict(zip(names, normaliser.mean_.tolist(), strict=True))


@st.cache_resource(show_spinner=False, max_entries=4)
def text_model(run_dir: str, stamp: float) -> Any:
    """A text run's fitted pipeline (hash-checked when its kind loads it)."""
    return loaded_run(run_dir, "best", stamp).model


@st.cache_data(show_spinner=False, max_entries=8)
def text_documents(run_dir: str, split: str) -> tuple[list[int], list[str], list[int]]:
    """A text run's documents of one split, from the corpus the run was trained on."""
    config = read_config(Path(run_dir))
    corpus = open_run_corpus(config)
    ids, docs, labels, _ = participant_documents(corpus, split, config["text"]["speakers"])
    return ids, docs, labels.tolist()


@st.cache_data(show_spinner=False, max_entries=16)
def training_ids(run_dir: str) -> set[int]:
    """Participants a run was trained on (see :func:`core.scoring.training_ids`)."""
    return scoring.training_ids(Path(run_dir))


@st.cache_resource(show_spinner=False, max_entries=16)
def text_score(run_dir: str, stamp: float, root: str, uploaded: bool, pid: int) -> TextScore:
    """A text run's probability for one participant, with the cached pipeline."""
    run = loaded_run(run_dir, "best", stamp)
    return _of(TextScore, scoring.score_participant(run, corpus_for(root, uploaded), pid))


@st.cache_resource(show_spinner=False, max_entries=4)
def fusion_run(run_dir: str, stamp: float) -> LoadedRun:
    """A fusion run (:class:`core.kinds.LoadedRun`), loaded once (:func:`loaded_run`)."""
    return loaded_run(run_dir, "best", stamp)


@st.cache_resource(show_spinner=False, max_entries=32)
def fusion_score(
    run_dir: str,
    stamp: float,
    root: str,
    uploaded: bool,
    pid: int,
    unusable: tuple[tuple[str, str], ...] = (),
) -> FusionScore:
    """The learned fusion's output for one participant.

    Its source runs score the participant through :func:`neural_score` and
    :func:`text_score`, so a source run that is also the modality's chosen run is not
    run twice. ``unusable`` pairs a modality with why its files cannot be used (an
    upload's check).
    """

    def neural(source: str | Path) -> NeuralScore:
        source = str(source)
        return neural_score(source, "best", checkpoint_stamp(source, "best"), *participant)

    def text(source: str | Path) -> float:
        source = str(source)
        return text_score(source, checkpoint_stamp(source, "best"), *participant).probability

    participant = (root, uploaded, pid)
    score = scoring.score_participant(
        fusion_run(run_dir, stamp),
        corpus_for(root, uploaded),
        pid,
        neural=neural,
        text=text,
        unusable=dict(unusable),
    )
    return _of(FusionScore, score)


@st.cache_data(show_spinner=False, max_entries=16)
def text_terms(run_dir: str, stamp: float, top_k: int) -> pd.DataFrame:
    """A text run's top n-grams on its training documents (:func:`term_importances`)."""
    _, docs, labels = text_documents(run_dir, "train")
    return term_importances(text_model(run_dir, stamp), docs, labels, top_k=top_k)
