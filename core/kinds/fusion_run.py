"""Fusion runs: per-participant embeddings and probabilities of any set of source runs.

Inputs per participant, one per source run (``config["sources"]``, in the order of
:func:`core.kinds.fusion.source_modalities` for a new run): a kind whose
``fusion_input`` is ``"embedding"`` gives the mean window embedding of its best model
(audio, face), one whose input is ``"probability"`` its depressed-probability (text:
out-of-fold for the participants the text run was trained on,
:func:`core.kinds.text_run.fusion_probabilities`). The layout, source to embedding width
(0: a probability), is saved as ``data.inputs``; a fusion saved before it was recorded
has ``audio_dim`` and ``face_dim`` and the sources audio, face, text
(:func:`fusion_layout`). A participant missing a source gets zeros there and 0 in the
availability mask. One function, :func:`fusion_features`, lays the inputs out, for a
whole split (training, evaluation) and for one participant (:func:`score_fusion`) alike.

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
from core.kinds.session import NeuralScore, score_neural
from core.kinds.text_run import fusion_probabilities, score_text
from core.models import FusionNet, build_model, late_fusion
from core.runs import folder
from core.training.batches import WindowBatches
from core.training.checkpoint import CheckpointError, load_checkpoint
from core.training.device import choose_device, seed_everything
from core.training.trainers import WindowClassifierTrainer

LEGACY_SOURCES = ("audio", "face", "text")
"""The sources of a fusion saved before ``data.inputs`` was recorded, in mask order."""


def fusion_layout(data: dict[str, Any]) -> dict[str, int]:
    """A fusion's sources in mask order, each to its embedding width (0: a probability).

    ``data`` is the ``data`` section of the fusion's saved configuration.
    """
    if "inputs" in data:
        return {str(m): int(width) for m, width in data["inputs"].items()}
    widths = (data["audio_dim"], data["face_dim"], 0)
    return dict(zip(LEGACY_SOURCES, map(int, widths), strict=True))


def input_name(source: str, width: int) -> str:
    """The network input of a source: ``{source}_emb``, or ``{source}_prob`` (width 0)."""
    return f"{source}_emb" if width else f"{source}_prob"


def build_fusion_net(layout: dict[str, int], model: dict[str, Any]) -> FusionNet:
    """A fresh fusion network for ``layout`` and the configuration's model section."""
    return FusionNet(
        inputs={input_name(m, w): max(w, 1) for m, w in layout.items()},
        hidden_size=model["hidden_size"],
        dropout=model["dropout"],
    )


def fusion_features(
    ids: Sequence[int], entries: dict[str, dict[int, Embedding]], layout: dict[str, int]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The fusion network's inputs for ``ids``, from each source's participants.

    Parameters
    ----------
    ids : sequence of int
        The participants, in row order (P of them).
    entries : dict
        Per source modality, participant ID to (embedding or None, probability); a
        participant absent there, or with a non-finite probability, lacks that input.
    layout : dict
        Source to embedding width (0: its probability), in mask order
        (:func:`fusion_layout`).

    Returns
    -------
    x : dict
        Per source ``{source}_emb`` (P, width) or ``{source}_prob`` (P, 1), and
        ``mask`` (P, k) in ``layout`` order, float32.
    probs : dict
        Per source ``(P,)`` probabilities, NaN where missing (for late fusion).
    """
    p = len(ids)
    x = {input_name(m, w): np.zeros((p, max(w, 1)), np.float32) for m, w in layout.items()}
    x["mask"] = np.zeros((p, len(layout)), np.float32)
    probs = {m: np.full(p, np.nan) for m in layout}
    for row, pid in enumerate(ids):
        for col, (m, width) in enumerate(layout.items()):
            entry = entries.get(m, {}).get(pid)
            if entry is None or not np.isfinite(entry[1]):
                continue
            embedding, prob = entry
            x["mask"][row, col] = 1.0
            probs[m][row] = prob
            x[input_name(m, width)][row] = prob if not width else embedding
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
    layout : dict
        Source to embedding width (0: a probability), in mask order; a saved fusion's
        own layout where its configuration records one.
    """
    from core.kinds import kind_of

    corpus = open_corpus(config) if corpus is None else corpus
    tables = {}
    for m, run_dir in config["sources"].items():
        kind = kind_of(run_dir)
        tables[m] = kind.embed_splits(kind.load(Path(run_dir)), corpus, tuple(splits))
    if "inputs" in config["data"] or "audio_dim" in config["data"]:
        layout = fusion_layout(config["data"])
    else:
        layout = {}
        for m, table in tables.items():
            some = next((e for split in splits for e, _ in table[split].values()), None)
            layout[m] = 0 if some is None else int(len(some))
    inputs = {}
    for split in splits:
        labelled = set(corpus.ids(split, labelled=True))
        ids = sorted(labelled & set().union(*(tables[m][split] for m in layout)))
        x, probs = fusion_features(ids, {m: tables[m][split] for m in layout}, layout)
        inputs[split] = {
            "ids": np.array(ids, dtype=np.int64),
            "labels": corpus.labels(ids),
            "x": x,
            "probs": probs,
        }
    return inputs, layout


def train_fusion(
    config: dict[str, Any], run_dir: Path, resume: bool = False, progress: bool = True
) -> str:
    """Train (or resume) a fusion run whose ``sources`` name finished runs."""
    run_dir = Path(run_dir)
    seed_everything(config["seed"])
    training = config["training"]
    models = source_models(config["sources"])  # before reading them: what was trained on
    corpus = open_corpus(config)
    inputs, layout = fusion_inputs(config, ("train", "dev"), corpus)
    train, dev = inputs["train"], inputs["dev"]
    model = build_fusion_net(layout, config["model"])
    device = choose_device(training["device"])
    labels = dict(zip(train["ids"].tolist(), train["labels"].tolist(), strict=True))
    fingerprint = corpus_fingerprint(corpus)
    fusion_config = {
        **config,
        "data": {**config["data"], "inputs": layout, "fingerprint": fingerprint},
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
    if not isinstance(model, FusionNet):
        raise CheckpointError(Path(run_dir) / name, f"holds a {type(model).__name__}, not a fusion")
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
    layout: dict[str, int],
    corpus: Corpus,
    pid: int,
    scorers: tuple[NeuralScorer, TextScorer],
    missing: dict[str, str],
) -> tuple[dict[str, dict[int, Embedding]], list[str]]:
    """One participant's entry of each source (see :func:`fusion_features`), and notes.

    A source with an embedding width is scored by the neural scorer, one without (a
    probability) by the text scorer. Adds to ``missing`` each input that cannot be had,
    with why.
    """
    neural, text = scorers
    entries: dict[str, dict[int, Embedding]] = {}
    notes = []
    for modality, width in layout.items():
        if modality in missing:
            continue
        if not width:
            note = _probability_entry(modality, sources[modality], corpus, pid, text, entries)
            if note.startswith("missing: "):
                missing[modality] = note.removeprefix("missing: ")
            elif note:
                notes.append(note)
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
    return entries, notes


def _probability_entry(
    modality: str,
    source: str,
    corpus: Corpus,
    pid: int,
    text: TextScorer,
    entries: dict[str, dict[int, Embedding]],
) -> str:
    """Add a probability source's entry; return its note, ``"missing: why"`` or ``""``."""
    try:
        probability, note = fusion_text_input(Path(source), corpus, pid, text)
    except (DataError, FileNotFoundError, ValueError) as error:
        return f"missing: {error}"
    if not np.isfinite(probability):
        return f"missing: participant {pid} has no participant text"
    entries[modality] = {pid: (None, probability)}
    return note or ""


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
    layout = fusion_layout(loaded.config["data"])
    missing = {m: why for m, why in (unusable or {}).items() if m in layout}
    entries, notes = _participant_entries(sources, layout, corpus, pid, scorers, missing)
    notes += [f"{m} input missing: {why}" for m, why in missing.items()]
    x, _ = fusion_features([pid], entries, layout)
    logits = loaded.model.logits({k: torch.as_tensor(v) for k, v in x.items()})  # (1, 2)
    return FusionScore(
        probability=float(torch.softmax(logits, dim=1)[0, 1]),
        sources=sources,
        available={m: m not in missing for m in layout},
        notes=notes,
        missing=missing,
    )
