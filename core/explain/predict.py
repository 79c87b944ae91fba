"""Score one participant with every chosen run, the fusion and the late-fusion baseline.

The participant may come from the active corpus (any split) or from an uploaded session
(:mod:`core.explain.upload`). Each modality is scored by the run the user picked, with
that run's own feature settings and normaliser; the learned fusion always uses the
source runs it was trained with (its inputs are *their* embeddings), and says which.
Training participants get the text run's out-of-fold probability as fusion input,
exactly as in fusion training.

Scoring is forward passes only (:func:`score_neural`); the Integrated Gradients
explanation (:func:`explain_neural_run`, :func:`explain_windows`) is a separate, much
dearer step that a caller runs only when it is asked for. Every step takes the loaded
models as arguments, so a caller can load each run once and reuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from torch import nn

from core.config import resolve_data_root
from core.data import Corpus, DataError
from core.data.cache import FrameCache
from core.data.features import Normaliser
from core.data.text import participant_document
from core.explain.session import SessionWindows, session_windows
from core.models import FusionNet, late_fusion
from core.pipeline import text as text_pipeline
from core.pipeline.fusion import SOURCE_MODALITIES, load_fusion_run
from core.pipeline.neural import load_neural_run
from core.runs.folder import read_config
from core.runs.status import RunInfo, list_runs
from core.runs.table import best_checkpoint
from core.training.checkpoint import CheckpointError

if TYPE_CHECKING:  # the explanation modules import Captum, which takes seconds to load
    from core.explain.neural import SessionExplanation

NOTICE = (
    "Research software, not a diagnostic device. These scores come from models trained "
    "on a research corpus; they must not be used to diagnose, screen or treat anyone."
)
CHECKPOINTS = ("best", "latest")


def explainable_runs(
    runs_root: Path,
    modality: str,
    data_root: str | None = None,
    runs: list[RunInfo] | None = None,
) -> list[RunInfo]:
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
    runs : list of RunInfo, optional
        :func:`core.runs.status.list_runs` of ``runs_root``, when the caller has it
        already (a page choosing a run of every modality reads the folders once).
    """
    runs = [
        info
        for info in (list_runs(runs_root) if runs is None else runs)
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


@dataclass
class NeuralScore:
    """An audio or face run's view of one participant: forward passes, no explanation.

    Attributes
    ----------
    windows : SessionWindows
        The session cut into the run's windows (normalised).
    window_probs : numpy.ndarray
        ``(W,)`` depressed-probability of each window.
    embedding : numpy.ndarray or None
        ``(D,)`` the mean window embedding (the fusion's input); None without windows.
    """

    windows: SessionWindows
    window_probs: np.ndarray
    embedding: np.ndarray | None

    @property
    def probability(self) -> float:
        """The participant's depressed-probability: the mean over windows (NaN if none)."""
        return float(self.window_probs.mean()) if len(self.window_probs) else float("nan")


def score_neural(
    model: nn.Module,
    config: dict[str, Any],
    normaliser: Normaliser,
    corpus: Corpus,
    pid: int,
    cache: FrameCache | None = None,
) -> NeuralScore:
    """Score one participant with a loaded audio or face run (see :func:`load_neural_run`).

    Parameters
    ----------
    model : torch.nn.Module
        The run's model, in eval mode.
    config : dict
        The run's configuration (from its checkpoint).
    normaliser : Normaliser
        The run's normaliser.
    corpus : Corpus
        Corpus holding the participant.
    pid : int
        Participant ID.
    cache : FrameCache, optional
        Read the frames through this cache.

    Raises
    ------
    DataError
        A file the run needs is missing or unreadable (the message names it).
    ValueError
        The session's features differ from the run's.
    """
    windows = session_windows(corpus, pid, config, normaliser, cache)
    probs, embeddings = window_outputs(model, windows.x)  # (W,), (W, D)
    embedding = embeddings.mean(axis=0) if len(windows) else None  # (D,)
    return NeuralScore(windows, probs, embedding)


@torch.no_grad()
def window_outputs(
    model: nn.Module, x: np.ndarray, batch_size: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """Depressed-probability and embedding of each window, from one forward pass.

    The logits come from the embedding (``model.logits_from_embedding``) instead of a
    second pass through the LSTM, the dearest part of scoring.
    The result equals :func:`core.pipeline.neural.predict_windows` with and without
    ``embeddings``.

    Parameters
    ----------
    model : torch.nn.Module
        AudioRNN or FaceSTRNN (eval mode is set here).
    x : numpy.ndarray
        Windows ``(N, T, F)``.
    batch_size : int, default 512
        Windows per forward pass.

    Returns
    -------
    probabilities : numpy.ndarray
        ``(N,)`` float32.
    embeddings : numpy.ndarray
        ``(N, D)`` float32.
    """
    model.eval()
    device = next(model.parameters()).device
    probs, embeddings = [], []
    for start in range(0, len(x), batch_size):
        xb = torch.as_tensor(x[start : start + batch_size], device=device)  # (B, T, F)
        embedding = model.embed(xb)  # (B, D)
        logits = model.logits_from_embedding(embedding).float()  # (B, 2)
        probs.append(torch.softmax(logits, dim=1)[:, 1].cpu())  # (B,)
        embeddings.append(embedding.float().cpu())
    if not probs:
        return np.zeros(0, np.float32), np.zeros((0, 0), np.float32)
    return torch.cat(probs).numpy(), torch.cat(embeddings).numpy()


def explain_windows(model: nn.Module, windows: SessionWindows) -> SessionExplanation:
    """Attention, spatial gate and Integrated Gradients of windows already cut.

    The dear part of an explanation (Captum is imported only here); see
    :func:`core.explain.neural.explain_session`.
    """
    from core.explain.neural import explain_session

    return explain_session(model, windows)


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
    return explain_windows(model, windows), normaliser


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
        Depressed-probability. With a missing input (see ``missing``) the model reads
        zeros in that input's place, so this number is only meaningful when
        ``complete``.
    sources : dict
        Modality to the source run folder the fusion was trained with.
    available : dict
        Modality to whether that input was present (missing ones enter as zeros).
    notes : list of str
        Why an input is missing, or that the text input is out-of-fold.
    missing : dict
        Modality to why its input is missing (the file and its problem, when a file
        is damaged); empty when every input is present.
    """

    probability: float
    sources: dict[str, str]
    available: dict[str, bool]
    notes: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether every input the fusion was trained with is present."""
        return all(self.available.values())


NeuralScorer = Callable[[Path], NeuralScore]
"""Scores the participant with one source run (folder in, :class:`NeuralScore` out)."""
TextScorer = Callable[[Path], float]
"""The text source run's depressed-probability for the participant (NaN: no text)."""


def fusion_text_input(
    text_run: Path, corpus: Corpus, pid: int, text: TextScorer
) -> tuple[float, str | None]:
    """The fusion's text input: out-of-fold for the text run's training participants.

    Returns
    -------
    probability : float
        NaN when the participant has no participant text.
    note : str or None
        Says when the probability is out-of-fold.
    """
    if _same_corpus(read_config(text_run), corpus):
        probability = float(text_pipeline.train_oof(text_run, [pid])[0])
        if np.isfinite(probability):
            return probability, (
                "text input: the text run's out-of-fold probability (a training participant)"
            )
    return text(text_run), None


@torch.no_grad()
def score_fusion(
    fusion_run: Path,
    corpus: Corpus,
    pid: int,
    cache: FrameCache | None = None,
    *,
    loaded: tuple[FusionNet, dict[str, Any]] | None = None,
    neural: NeuralScorer | None = None,
    text: TextScorer | None = None,
    unusable: dict[str, str] | None = None,
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
    loaded : tuple, optional
        The fusion run's ``(model, config)`` when the caller has loaded it already.
    neural, text : callable, optional
        Score the participant with a source run, when the caller keeps those runs
        loaded (and their scores); by default each source run is loaded here.
    unusable : dict, optional
        Modalities already known to be unusable, to why (an upload whose file failed
        its check): left out even where the rows a run reads would parse.

    Raises
    ------
    CheckpointError
        The fusion checkpoint is missing or damaged.
    """
    model, config = loaded or load_fusion_run(Path(fusion_run))
    if neural is None:

        def neural(source: Path) -> NeuralScore:
            return score_neural(*load_neural_run(source), corpus, pid, cache)

    if text is None:

        def text(source: Path) -> float:
            return score_text(source, corpus, pid).probability

    sources = {m: str(p) for m, p in config["sources"].items()}
    dims = config["data"]
    inputs = {
        "audio_emb": torch.zeros(1, dims["audio_dim"]),
        "face_emb": torch.zeros(1, dims["face_dim"]),
        "text_prob": torch.zeros(1, 1),
        "mask": torch.zeros(1, len(SOURCE_MODALITIES)),
    }
    missing = {m: why for m, why in (unusable or {}).items() if m in SOURCE_MODALITIES}
    notes = []
    for modality in ("audio", "face"):
        if modality in missing:
            continue
        try:
            score = neural(Path(sources[modality]))
        except (CheckpointError, DataError, ValueError) as error:
            missing[modality] = str(error)
            continue
        if score.embedding is None:
            missing[modality] = "; ".join(score.windows.notes) or "no window"
            continue
        inputs[f"{modality}_emb"][0] = torch.as_tensor(score.embedding)
        inputs["mask"][0, SOURCE_MODALITIES.index(modality)] = 1.0
    if "text" not in missing:
        try:
            probability, note = fusion_text_input(Path(sources["text"]), corpus, pid, text)
        except (DataError, FileNotFoundError, ValueError) as error:
            missing["text"] = str(error)
        else:
            notes += [note] if note else []
            if np.isfinite(probability):
                inputs["text_prob"][0, 0] = probability
                inputs["mask"][0, SOURCE_MODALITIES.index("text")] = 1.0
            else:
                missing["text"] = f"participant {pid} has no participant text"
    notes += [f"{m} input missing: {why}" for m, why in missing.items()]
    logits = model(**inputs)  # (1, 2)
    return FusionScore(
        probability=float(torch.softmax(logits, dim=1)[0, 1]),
        sources=sources,
        available={m: m not in missing for m in SOURCE_MODALITIES},
        notes=notes,
        missing=missing,
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
