"""Score one participant with every chosen run, the fusion and the late-fusion baseline.

The participant may come from the active corpus (any split) or from an uploaded session
(:mod:`core.data.upload`). Each run scores with its own kind
(:meth:`core.kinds.RunKind.score_participant`): its own feature settings and normaliser;
the learned fusion always uses the source runs it was trained with (its inputs are
*their* embeddings), and says which. Training participants get the text run's
out-of-fold probability as fusion input, exactly as in fusion training.

Scoring is forward passes only; the Integrated Gradients explanation
(:mod:`core.explain.predict`) is a separate, much dearer step that a caller runs only
when it is asked for. Every step takes loaded runs as arguments, so a caller can load
each run once and reuse it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.config import open_corpus
from core.data import Corpus, DataError
from core.kinds import LoadedRun, Score, best_model_file, get_kind, kind_of
from core.kinds.choice import rank_key
from core.kinds.corpus import corpus_key
from core.kinds.fusion_run import FusionScore, fusion_text_input, score_fusion
from core.kinds.session import NeuralScore, score_neural, window_outputs
from core.kinds.text_run import TextScore, score_text
from core.models import late_fusion
from core.runs.folder import read_config
from core.runs.status import RunInfo, list_runs

__all__ = [
    "FusionScore",
    "NeuralScore",
    "TextScore",
    "explainable_runs",
    "fusion_text_input",
    "late_fusion_score",
    "load_run",
    "score_fusion",
    "score_neural",
    "score_participant",
    "score_text",
    "training_ids",
    "window_outputs",
]


def explainable_runs(
    runs_root: Path,
    modality: str,
    data_root: str | Path | None = None,
    runs: list[RunInfo] | None = None,
) -> list[RunInfo]:
    """Runs of one modality that have a saved model, the most suitable first.

    Runs on the same corpus come first, then lower best validation loss, then newer
    (:func:`core.kinds.choice.rank_key`).

    Parameters
    ----------
    runs_root : pathlib.Path
        Runs root.
    modality : {"text", "audio", "face", "fusion"}
        Which runs.
    data_root : str, pathlib.Path or None
        The active corpus: its folder, or None for the bundled sample. Compared by
        :func:`core.kinds.corpus.corpus_key`, so the sample's folder and None are one.
    runs : list of RunInfo, optional
        :func:`core.runs.status.list_runs` of ``runs_root``, when the caller has it
        already (a page choosing a run of every modality reads the folders once).
    """
    runs = [
        info
        for info in (list_runs(runs_root) if runs is None else runs)
        if info.modality == modality and best_model_file(info.path) is not None
    ]
    corpus = corpus_key(data_root)
    return sorted(runs, key=lambda info: rank_key(info, corpus))


def training_ids(run_dir: Path) -> set[int]:
    """IDs of the participants a run was trained on (its corpus's training split).

    Empty when the run's corpus cannot be opened any more.
    """
    config = read_config(Path(run_dir))
    try:
        corpus = open_corpus(config)
    except (DataError, OSError, ValueError):
        return set()
    return set(corpus.ids("train"))


def load_run(run_dir: Path, which: str = "best", device: str = "cpu") -> LoadedRun:
    """A run's best (or latest) model, loaded by its own kind."""
    return kind_of(run_dir).load(Path(run_dir), which, device)


def score_participant(
    run: LoadedRun, corpus: Corpus, pid: int, cache: Any = None, **options: Any
) -> Score:
    """Score one participant with a loaded run of any kind (its ``.probability``)."""
    return get_kind(run.config).score_participant(run, corpus, pid, cache, **options)


def late_fusion_score(probabilities: dict[str, float | None]) -> float:
    """The late-fusion baseline for one participant: the mean of the available modalities.

    NaN when no modality has a probability.
    """
    if not probabilities:
        return float("nan")
    arrays = {m: None if p is None else np.array([p], float) for m, p in probabilities.items()}
    if all(a is None for a in arrays.values()):
        return float("nan")
    return float(late_fusion(arrays)[0])
