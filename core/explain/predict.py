"""Score one participant with every chosen run, the fusion and the late-fusion baseline.

The participant may come from the active corpus (any split) or from an uploaded session
(:mod:`core.explain.upload`). Each modality is scored by the run the user picked, with
that run's own feature settings and normaliser; the learned fusion always uses the
source runs it was trained with (its inputs are *their* embeddings), and says which.
Training participants get the text run's out-of-fold probability as fusion input,
exactly as in fusion training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.pipeline import Pipeline

from core.data import Corpus, DataError
from core.data.cache import FrameCache
from core.data.features import Normaliser
from core.data.text import participant_document
from core.explain.neural import SessionExplanation, explain_session
from core.explain.session import session_windows
from core.models import late_fusion
from core.pipeline import text as text_pipeline
from core.pipeline.config import read_config, resolve_data_root
from core.pipeline.fusion import SOURCE_MODALITIES, load_fusion_run
from core.pipeline.neural import load_neural_run, predict_windows
from core.runs.status import RunInfo, list_runs
from core.runs.table import best_checkpoint
from core.training.checkpoint import CheckpointError

NOTICE = (
    "Research software, not a diagnostic device. These scores come from models trained "
    "on a research corpus; they must not be used to diagnose, screen or treat anyone."
)
CHECKPOINTS = ("best", "latest")


def explainable_runs(runs_root: Path, modality: str, data_root: str | None = None) -> list[RunInfo]:
    """Runs of one modality that have a saved model, the most suitable first.

    Runs on the same corpus come first, then lower best validation loss, then newer.

    Parameters
    ----------
    runs_root : pathlib.Path
        Runs root.
    modality : {"text", "audio", "face", "fusion"}
        Which runs.
    data_root : str or None
        The active corpus (as stored in configurations; None for the sample).
    """
    runs = [
        info
        for info in list_runs(runs_root)
        if info.modality == modality and best_checkpoint(info.path) is not None
    ]

    def key(info: RunInfo) -> tuple:
        same = info.config.get("data", {}).get("root") == data_root
        loss = info.best_val_loss if info.best_val_loss is not None else np.inf
        return (not same, loss, -(info.started or 0.0))

    return sorted(runs, key=key)


def training_ids(run_dir: Path) -> set[int]:
    """IDs of the participants a run was trained on (its corpus's training split).

    Empty when the run's corpus cannot be opened any more.
    """
    config = read_config(Path(run_dir))
    try:
        corpus = Corpus(resolve_data_root(config))
    except (DataError, OSError, ValueError):
        return set()
    return set(corpus.ids("train"))


def explain_neural_run(
    run_dir: Path,
    corpus: Corpus,
    pid: int,
    which: str = "best",
    cache: FrameCache | None = None,
    device: str = "cpu",
) -> tuple[SessionExplanation, Normaliser]:
    """Load an audio or face run's checkpoint and explain one participant with it.

    Returns
    -------
    explanation : SessionExplanation
    normaliser : Normaliser
        The run's normaliser (its ``mean_`` is the training-mean frame, the baseline).

    Raises
    ------
    CheckpointError
        The checkpoint is missing or damaged.
    DataError
        The session lacks a file the run needs.
    ValueError
        The session's features differ from the run's.
    """
    model, config, normaliser = load_neural_run(Path(run_dir), which, device)
    windows = session_windows(corpus, pid, config, normaliser, cache)
    return explain_session(model, windows), normaliser


@dataclass
class TextScore:
    """A text run's view of one participant.

    Attributes
    ----------
    probability : float
        Depressed-probability from the fitted pipeline (NaN for an empty document).
    document : str
        The cleaned document the model read.
    """

    probability: float
    document: str


def score_text(
    run_dir: Path, corpus: Corpus, pid: int, pipeline: Pipeline | None = None
) -> TextScore:
    """The text run's depressed-probability for one participant's transcript.

    Parameters
    ----------
    run_dir : pathlib.Path
        Text run.
    corpus : Corpus
        Corpus holding the participant.
    pid : int
        Participant ID.
    pipeline : sklearn.pipeline.Pipeline, optional
        The run's fitted pipeline, when the caller has it loaded already.

    Raises
    ------
    DataError
        The transcript is missing or unreadable.
    FileNotFoundError
        The run has no fitted model.
    """
    config = read_config(Path(run_dir))
    pipeline = pipeline or text_pipeline.load_text_run(Path(run_dir))
    document = participant_document(corpus.transcript(pid), config["text"]["speakers"])
    if not document.strip():
        return TextScore(float("nan"), document)
    return TextScore(float(pipeline.predict_proba([document])[0, 1]), document)


def _same_corpus(config: dict[str, Any], corpus: Corpus) -> bool:
    try:
        return Path(resolve_data_root(config)).resolve() == corpus.root.resolve()
    except (DataError, OSError, ValueError):
        return False


@dataclass
class FusionScore:
    """The learned fusion's output for one participant.

    Attributes
    ----------
    probability : float
        Depressed-probability.
    sources : dict
        Modality to the source run folder the fusion was trained with.
    available : dict
        Modality to whether that input was present (missing ones enter as zeros).
    notes : list of str
        Why an input is missing, or that the text input is out-of-fold.
    """

    probability: float
    sources: dict[str, str]
    available: dict[str, bool]
    notes: list[str] = field(default_factory=list)


@torch.no_grad()
def score_fusion(
    fusion_run: Path, corpus: Corpus, pid: int, cache: FrameCache | None = None
) -> FusionScore:
    """Run a fusion model on one participant through its own source runs.

    Parameters
    ----------
    fusion_run : pathlib.Path
        Fusion run.
    corpus : Corpus
        Corpus holding the participant.
    pid : int
        Participant ID.
    cache : FrameCache, optional
        Read the audio and face frames through this cache.

    Raises
    ------
    CheckpointError
        The fusion checkpoint (or a source run's) is missing or damaged.
    """
    model, config = load_fusion_run(Path(fusion_run))
    sources = {m: str(p) for m, p in config["sources"].items()}
    dims = config["data"]
    inputs = {
        "audio_emb": torch.zeros(1, dims["audio_dim"]),
        "face_emb": torch.zeros(1, dims["face_dim"]),
        "text_prob": torch.zeros(1, 1),
        "mask": torch.zeros(1, len(SOURCE_MODALITIES)),
    }
    available = dict.fromkeys(SOURCE_MODALITIES, False)
    notes = []
    for modality in ("audio", "face"):
        try:
            source, source_config, normaliser = load_neural_run(Path(sources[modality]))
            windows = session_windows(corpus, pid, source_config, normaliser, cache)
        except (CheckpointError, DataError, ValueError) as error:
            notes.append(f"{modality} input missing: {error}")
            continue
        if not len(windows):
            notes.append(f"{modality} input missing: {'; '.join(windows.notes)}")
            continue
        embedding = predict_windows(source, windows.x, embeddings=True).mean(axis=0)  # (D,)
        inputs[f"{modality}_emb"][0] = torch.as_tensor(embedding)
        inputs["mask"][0, SOURCE_MODALITIES.index(modality)] = 1.0
        available[modality] = True
    text_run = Path(sources["text"])
    try:
        probability = np.nan
        if _same_corpus(read_config(text_run), corpus):
            probability = float(text_pipeline.train_oof(text_run, [pid])[0])
            if np.isfinite(probability):
                notes.append(
                    "text input: the text run's out-of-fold probability (a training participant)"
                )
        if not np.isfinite(probability):
            probability = score_text(text_run, corpus, pid).probability
    except (DataError, FileNotFoundError, ValueError) as error:
        probability = np.nan
        notes.append(f"text input missing: {error}")
    if np.isfinite(probability):
        inputs["text_prob"][0, 0] = probability
        inputs["mask"][0, SOURCE_MODALITIES.index("text")] = 1.0
        available["text"] = True
    logits = model(**inputs)  # (1, 2)
    return FusionScore(
        probability=float(torch.softmax(logits, dim=1)[0, 1]),
        sources=sources,
        available=available,
        notes=notes,
    )


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
