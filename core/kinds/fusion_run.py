"""Fusion runs: per-participant audio and face embeddings plus text probabilities.

Inputs per participant: the mean window embedding of the audio run's and the face run's
best model, and the text run's depressed-probability, out-of-fold for the participants
the text run was trained on (:func:`core.kinds.text_run.fusion_probabilities`). A
participant missing a modality gets zeros there and 0 in the availability mask. One
function, :func:`fusion_features`, lays the inputs out, for a whole split (training,
evaluation) and for one participant (:func:`score_fusion`) alike.

Beside the learned fusion, every evaluation shows the late-fusion baseline: the mean of
the available modalities' depressed-probabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.config import open_corpus
from core.data import Corpus, DataError
from core.data.cache import FrameCache
from core.errors import REFUSED, UserError
from core.kinds import neural_run
from core.kinds.base import Embedding, LoadedRun
from core.kinds.fingerprint import corpus_fingerprint, source_changes, source_models
from core.kinds.fusion import SOURCE_MODALITIES
from core.kinds.session import NeuralScore, score_neural
from core.kinds.text_run import fusion_probabilities, score_text
from core.models import FusionNet, build_model, late_fusion
from core.runs import folder
from core.training.batches import WindowBatches
from core.training.checkpoint import CheckpointError, load_checkpoint
from core.training.device import choose_device, seed_everything
from core.training.trainers import WindowClassifierTrainer


def fusion_features(
    ids: Sequence[int], entries: dict[str, dict[int, Embedding]], dims: dict[str, int]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The fusion network's inputs for ``ids``, from each source's participants.

    Parameters
    ----------
    ids : sequence of int
        The participants, in row order (P of them).
    entries : dict
        Per source modality, participant ID to (embedding or None, probability); a
        participant absent there, or with a non-finite probability, lacks that input.
    dims : dict
        ``audio_dim`` and ``face_dim``.

    Returns
    -------
    x : dict
        ``audio_emb`` (P, Da), ``face_emb`` (P, Df), ``text_prob`` (P, 1) and ``mask``
        (P, 3) in :data:`SOURCE_MODALITIES` order, float32.
    probs : dict
        Per modality ``(P,)`` probabilities, NaN where missing (for late fusion).
    """
    p = len(ids)
    x = {
        "audio_emb": np.zeros((p, dims["audio_dim"]), np.float32),
        "face_emb": np.zeros((p, dims["face_dim"]), np.float32),
        "text_prob": np.zeros((p, 1), np.float32),
        "mask": np.zeros((p, len(SOURCE_MODALITIES)), np.float32),
    }
    probs = {m: np.full(p, np.nan) for m in SOURCE_MODALITIES}
    for row, pid in enumerate(ids):
        for col, m in enumerate(SOURCE_MODALITIES):
            entry = entries.get(m, {}).get(pid)
            if entry is None or not np.isfinite(entry[1]):
                continue
            embedding, prob = entry
            x["mask"][row, col] = 1.0
            probs[m][row] = prob
            if embedding is None:
                x["text_prob"][row, 0] = prob
            else:
                x[f"{m}_emb"][row] = embedding
    return x, probs


class SourcesChanged(UserError):
    """A fusion run's source runs are no longer the ones it was trained with.

    A command line refuses such a fusion with exit status 2, as it refuses a bad argument.
    """

    exit_status = REFUSED


def check_sources(config: dict[str, Any], run_dir: Path | None = None) -> None:
    """Refuse a fusion whose source runs changed since it was trained.

    A fusion learned how far to trust each source's outputs; a retrained or resumed
    source gives other outputs, and the fusion's scores (and its saved evaluation) would
    silently stop being the ones it was trained and measured with.

    Parameters
    ----------
    config : dict
        The fusion's configuration as its checkpoint saved it (``source_models``; a run
        saved before they were recorded passes).
    run_dir : pathlib.Path, optional
        The fusion run, to name it.

    Raises
    ------
    SourcesChanged
        Naming each changed source and what to do.
    """
    if changes := source_changes(config.get("source_models")):
        name = f"fusion run {Path(run_dir).name}" if run_dir else "this fusion run"
        raise SourcesChanged(
            f"{name} was trained with other versions of its source runs: "
            f"{'; '.join(changes.values())}. Its scores would no longer be the ones it was "
            "trained and evaluated with: train a new fusion run on the current source runs"
        )


def fusion_inputs(
    config: dict[str, Any], splits: Sequence[str], corpus: Corpus | None = None
) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """Fusion inputs of each split from the configuration's source runs.

    Returns
    -------
    inputs : dict
        Per split: ``ids`` (P,), ``labels`` (P,), ``x`` and ``probs`` (see
        :func:`fusion_features`).
    dims : dict
        ``audio_dim`` and ``face_dim``.
    """
    from core.kinds import kind_of

    corpus = open_corpus(config) if corpus is None else corpus
    tables = {}
    for m in SOURCE_MODALITIES:
        kind = kind_of(config["sources"][m])
        tables[m] = kind.embed_splits(kind.load(Path(config["sources"][m])), corpus, splits)
    dims = {}
    for m in ("audio", "face"):
        some = next(e for split in splits for e, _ in tables[m][split].values())
        dims[f"{m}_dim"] = int(len(some))
    inputs = {}
    for split in splits:
        labelled = set(corpus.ids(split, labelled=True))
        ids = sorted(labelled & set().union(*(tables[m][split] for m in SOURCE_MODALITIES)))
        x, probs = fusion_features(ids, {m: tables[m][split] for m in SOURCE_MODALITIES}, dims)
        inputs[split] = {
            "ids": np.array(ids, dtype=np.int64),
            "labels": corpus.labels(ids),
            "x": x,
            "probs": probs,
        }
    return inputs, dims


def train_fusion(
    config: dict[str, Any], run_dir: Path, resume: bool = False, progress: bool = True
) -> str:
    """Train (or resume) a fusion run whose ``sources`` name finished runs."""
    run_dir = Path(run_dir)
    seed_everything(config["seed"])
    training = config["training"]
    models = source_models(config["sources"])  # before reading them: what was trained on
    corpus = open_corpus(config)
    inputs, dims = fusion_inputs(config, ("train", "dev"), corpus)
    train, dev = inputs["train"], inputs["dev"]
    model = FusionNet(
        dims["audio_dim"],
        dims["face_dim"],
        hidden_size=config["model"]["hidden_size"],
        dropout=config["model"]["dropout"],
    )
    device = choose_device(training["device"])
    labels = dict(zip(train["ids"].tolist(), train["labels"].tolist(), strict=True))
    fingerprint = corpus_fingerprint(corpus)
    fusion_config = {
        **config,
        "data": {**config["data"], **dims, "fingerprint": fingerprint},
        "source_models": models,
    }
    trainer = neural_run.build_trainer(
        WindowClassifierTrainer, model, fusion_config, labels, device, run_dir, progress
    )
    batches = {
        split: WindowBatches(
            part["x"],
            part["labels"],
            part["ids"],
            training["batch_size"] if split == "train" else 4096,
            shuffle=split == "train",
            seed=config["seed"],
            device=device,
        )
        for split, part in (("train", train), ("dev", dev))
    }
    with neural_run.sigterm_requests_stop(trainer):
        trainer.train(
            batches["train"],
            batches["dev"],
            n_epochs=training["max_epochs"],
            resume_from=run_dir / folder.LATEST if resume else None,
        )
    return trainer.status


def load_fusion_run(run_dir: Path, which: str = "best") -> tuple[FusionNet, dict[str, Any]]:
    """A fusion run's best (or latest) model (in eval mode, on the CPU) and its configuration.

    Raises
    ------
    CheckpointError
        The checkpoint is missing or damaged.
    """
    name = folder.BEST if which == "best" else folder.LATEST
    checkpoint = load_checkpoint(Path(run_dir) / name, map_location="cpu")
    config = checkpoint["config"]
    model = build_model(config["model"]["class"], config["model"]["init_kwargs"])
    model.load_state_dict(checkpoint["model_state_dict"])
    return model.eval(), config


@torch.no_grad()
def predict_fusion(run: LoadedRun, split: str) -> dict[str, Any]:
    """The fusion's and the late-fusion baseline's probabilities on one split.

    Returns
    -------
    dict
        ``ids``, ``labels``, ``fusion`` and ``late_fusion`` (P,), and ``modalities``
        (per source, its (P,) probabilities, NaN where missing).

    Raises
    ------
    SourcesChanged
        A source run changed since the fusion was trained (:func:`check_sources`).
    """
    check_sources(run.config, run.run_dir)
    inputs, _ = fusion_inputs(run.config, (split,))
    part = inputs[split]
    logits = run.model.logits({k: torch.as_tensor(v) for k, v in part["x"].items()})  # (P, 2)
    return {
        "ids": part["ids"],
        "labels": part["labels"],
        "fusion": torch.softmax(logits, dim=1)[:, 1].numpy(),
        "late_fusion": late_fusion(part["probs"]),
        "modalities": part["probs"],
    }


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

    The same choice as the fusion's training inputs
    (:func:`core.kinds.text_run.fusion_probabilities`).

    Returns
    -------
    probability : float
        NaN when the participant has no participant text.
    note : str or None
        Says when the probability is out-of-fold.
    """
    probs, out_of_fold = fusion_probabilities(text_run, corpus, [pid], [np.nan])
    if out_of_fold[0]:
        return float(probs[0]), (
            "text input: the text run's out-of-fold probability (a training participant)"
        )
    return text(text_run), None


def _default_scorers(
    corpus: Corpus, pid: int, cache: FrameCache | None
) -> tuple[NeuralScorer, TextScorer]:
    """Scorers that load each source run themselves."""

    def neural(source: Path) -> NeuralScore:
        return score_neural(*neural_run.load_neural_run(source), corpus, pid, cache)

    def text(source: Path) -> float:
        return score_text(source, corpus, pid).probability

    return neural, text


def _participant_entries(
    sources: dict[str, str],
    corpus: Corpus,
    pid: int,
    scorers: tuple[NeuralScorer, TextScorer],
    missing: dict[str, str],
) -> tuple[dict[str, dict[int, Embedding]], list[str]]:
    """One participant's entry of each source (see :func:`fusion_features`), and notes.

    Adds to ``missing`` each input that cannot be had, with why.
    """
    neural, text = scorers
    entries: dict[str, dict[int, Embedding]] = {}
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
        entries[modality] = {pid: (score.embedding, score.probability)}
    if "text" not in missing:
        try:
            probability, note = fusion_text_input(Path(sources["text"]), corpus, pid, text)
        except (DataError, FileNotFoundError, ValueError) as error:
            missing["text"] = str(error)
        else:
            notes += [note] if note else []
            if np.isfinite(probability):
                entries["text"] = {pid: (None, probability)}
            else:
                missing["text"] = f"participant {pid} has no participant text"
    return entries, notes


@torch.no_grad()
def score_fusion(
    fusion_run: Path,
    corpus: Corpus,
    pid: int,
    cache: FrameCache | None = None,
    *,
    loaded: LoadedRun | None = None,
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
    loaded : LoadedRun, optional
        The fusion run, when the caller has loaded it already.
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
    SourcesChanged
        A source run changed since the fusion was trained (:func:`check_sources`).
    """
    if loaded is None:
        model, config = load_fusion_run(Path(fusion_run))
        loaded = LoadedRun(Path(fusion_run), config, model)
    check_sources(loaded.config, loaded.run_dir)
    default_neural, default_text = _default_scorers(corpus, pid, cache)
    scorers = (neural or default_neural, text or default_text)
    sources = {m: str(p) for m, p in loaded.config["sources"].items()}
    missing = {m: why for m, why in (unusable or {}).items() if m in SOURCE_MODALITIES}
    entries, notes = _participant_entries(sources, corpus, pid, scorers, missing)
    notes += [f"{m} input missing: {why}" for m, why in missing.items()]
    x, _ = fusion_features([pid], entries, loaded.config["data"])
    logits = loaded.model.logits({k: torch.as_tensor(v) for k, v in x.items()})  # (1, 2)
    return FusionScore(
        probability=float(torch.softmax(logits, dim=1)[0, 1]),
        sources=sources,
        available={m: m not in missing for m in SOURCE_MODALITIES},
        notes=notes,
        missing=missing,
    )
