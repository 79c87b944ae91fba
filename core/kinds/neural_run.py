"""Audio and face runs: windows, model, trainer, and scores from a saved run.

The kind (:class:`core.kinds.neural.NeuralKind`) says which model and trainer; this
module does the work for both.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.config import open_corpus
from core.data import Corpus
from core.data.features import FeatureSettings, Normaliser, WindowSet, WindowSettings, load_windows
from core.evaluation.metrics import aggregate_windows
from core.kinds.callbacks import RunFolderWriter
from core.kinds.fingerprint import corpus_fingerprint
from core.models import NeuralClassifier
from core.runs import folder
from core.training.batches import WindowBatches
from core.training.checkpoint import CheckpointError, load_checkpoint
from core.training.device import choose_device, seed_everything
from core.training.trainers import class_weights_from_participants


def feature_settings(config: dict[str, Any]) -> FeatureSettings:
    """The feature settings of a windowed configuration, as its kind reads them."""
    from core.kinds import get_kind

    kind = get_kind(config)
    if not hasattr(kind, "feature_settings"):
        raise ValueError(f"{kind.name} runs read no windows of frames")
    settings: FeatureSettings = kind.feature_settings(config["features"])
    return settings


def window_settings(config: dict[str, Any]) -> WindowSettings:
    """The window settings of an audio or face configuration."""
    return WindowSettings(**config["windows"])


def prepare_windows(
    config: dict[str, Any],
    splits: Sequence[str] = ("train", "dev"),
    normaliser: Normaliser | None = None,
    progress: Any = None,
    corpus: Corpus | None = None,
) -> tuple[dict[str, WindowSet], Normaliser, dict[int, list[str]]]:
    """Windows of ``splits`` for a configuration (see :func:`core.data.features.load_windows`).

    Parameters
    ----------
    config : dict
        Run configuration.
    splits : sequence of str
        Splits to return.
    normaliser : Normaliser, optional
        A run's saved normaliser; by default one is fitted on the training participants.
    progress : callable, optional
        ``progress(done, total)`` while sessions are read.
    corpus : Corpus, optional
        The configuration's corpus, when the caller has opened it already.
    """
    corpus = open_corpus(config) if corpus is None else corpus
    return load_windows(
        corpus,
        feature_settings(config),
        window_settings(config),
        splits=splits,
        normaliser=normaliser,
        progress=progress,
    )


FOLDER_GONE = "the run folder was deleted while the run trained"


def _stop_check(run_dir: Path, trainer: Any) -> Any:
    """A trainer's stop check: a stop request, or the run folder deleted from outside.

    A deleted folder (its ``config.json`` gone, which is never missing otherwise: it is
    replaced atomically) fails the run at the next batch; a run never recreates its
    folder without its configuration.
    """
    stop_file, config_file = run_dir / folder.STOP_REQUEST, run_dir / folder.CONFIG

    def check() -> bool:
        if not config_file.is_file():  # replaced atomically, so never missing otherwise
            trainer.request_stop(FOLDER_GONE, status="failed")
            return True
        return stop_file.exists()

    return check


def build_trainer(
    trainer_class: type,
    model: nn.Module,
    config: dict[str, Any],
    train_labels: dict[int, int],
    device: torch.device,
    run_dir: Path,
    progress: bool,
    **extra: Any,
) -> Any:
    """A trainer for a run: loss, Adam, LR schedule, early stopping and run-folder hooks.

    Parameters
    ----------
    trainer_class : type
        ``AudioRNNTrainer`` or ``WindowClassifierTrainer``.
    model : torch.nn.Module
        The fresh model.
    config : dict
        The run configuration (its ``training`` section sets the optimiser and schedule);
        stored in every checkpoint.
    train_labels : dict
        One label per training participant, for the class-weighted loss.
    device : torch.device
        Where to train.
    run_dir : pathlib.Path
        The run folder (checkpoints, status, metrics, stop requests).
    progress : bool
        Show a progress bar.
    **extra
        More trainer arguments (``max_grad_norm``).
    """
    training = config["training"]
    weight = (
        class_weights_from_participants(train_labels)
        if training["class_weighting"] == "balanced"
        else None
    )
    trainer = trainer_class(
        model,
        nn.CrossEntropyLoss(weight=weight),
        torch.optim.Adam(
            model.parameters(), lr=training["lr"], weight_decay=training["weight_decay"]
        ),
        device,
        lr_factor=training["lr_factor"],
        lr_patience=training["lr_patience"],
        patience=training["patience"],
        monitor=training.get("monitor", "val_loss"),  # runs started before it was a setting
        run_dir=run_dir,
        config=config,
        callbacks=[RunFolderWriter(run_dir)],
        amp=training["amp"],
        progress=progress,
        **extra,
    )
    trainer.stop_check = _stop_check(run_dir, trainer)
    return trainer


def train_neural(
    kind: Any, config: dict[str, Any], run_dir: Path, resume: bool = False, progress: bool = True
) -> str:
    """Train (or resume) an audio or face run in ``run_dir``; return its final state.

    ``kind`` (a :class:`core.kinds.neural.NeuralKind`) builds the model and names the
    trainer.

    The run folder receives ``status.json``, ``metrics.jsonl`` and both checkpoints as the
    run goes. A stop request (``stop.request`` in the folder, or SIGTERM) ends the run at
    the next batch boundary with its last complete epoch saved.
    """
    run_dir = Path(run_dir)
    seed_everything(config["seed"])
    training = config["training"]
    latest = run_dir / folder.LATEST
    saved = load_checkpoint(latest, map_location="cpu") if resume else None
    normaliser = None
    if saved is not None:
        normaliser = Normaliser.from_dict(saved["config"]["data"]["normaliser"])
    corpus = open_corpus(config)
    windows, normaliser, notes = prepare_windows(
        config, ("train", "dev"), normaliser, corpus=corpus
    )
    train_set, dev_set = windows["train"], windows["dev"]
    if len(dev_set) == 0:
        raise ValueError("the dev split has no windows to validate on")
    full_config = {
        **config,
        "data": {
            **config["data"],
            "feature_names": list(train_set.feature_names),
            "normaliser": normaliser.to_dict(),
            "n_train_windows": len(train_set),
            "n_dev_windows": len(dev_set),
            "notes": {str(k): v for k, v in notes.items()},
            "fingerprint": corpus_fingerprint(corpus, feature_settings(config).file_kinds()),
        },
    }
    model = kind.build_model(len(train_set.feature_names), config["model"])
    device = choose_device(training["device"])
    labels = dict(zip(train_set.participant_ids.tolist(), train_set.y.tolist(), strict=True))
    extra = {"max_grad_norm": training["grad_clip"] or None} if "grad_clip" in training else {}
    trainer = build_trainer(
        kind.trainer_class(), model, full_config, labels, device, run_dir, progress, **extra
    )
    train_batches = WindowBatches(
        train_set.x,
        train_set.y,
        train_set.participant_ids,
        training["batch_size"],
        shuffle=True,
        seed=config["seed"],
        device=device,
        drop_last=kind.drop_last and len(train_set) > training["batch_size"],
    )
    dev_batches = WindowBatches(
        dev_set.x, dev_set.y, dev_set.participant_ids, 512, shuffle=False, device=device
    )
    with sigterm_requests_stop(trainer):
        trainer.train(
            train_batches,
            dev_batches,
            n_epochs=training["max_epochs"],
            resume_from=latest if resume else None,
        )
    return trainer.status


@contextlib.contextmanager
def sigterm_requests_stop(trainer: Any) -> Iterator[None]:
    """While training, SIGTERM asks the trainer to stop; the previous handler comes back after.

    Restoring matters when one process trains several runs (a fusion run trains its
    missing source runs first). Outside the main thread signals cannot be handled here.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(
        signal.SIGTERM, lambda *_: trainer.request_stop("terminated (SIGTERM)")
    )
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def load_neural_run(
    run_dir: Path, which: str = "best", device: str | torch.device = "cpu"
) -> tuple[NeuralClassifier, dict[str, Any], Normaliser]:
    """Rebuild a run's model from its checkpoint, with the run's own normaliser.

    Parameters
    ----------
    run_dir : pathlib.Path
        Run folder.
    which : {"best", "latest"}
        Which checkpoint.
    device : str or torch.device
        Where to put the model.

    Returns
    -------
    model : NeuralClassifier
        In eval mode.
    config : dict
        The configuration stored in the checkpoint.
    normaliser : Normaliser
        Fitted on the run's training participants.
    """
    name = folder.BEST if which == "best" else folder.LATEST
    checkpoint = load_checkpoint(Path(run_dir) / name, map_location=device)
    config = checkpoint["config"]
    from core.kinds import get_kind

    kind = get_kind(config)
    if not hasattr(kind, "saved_model"):
        raise CheckpointError(
            Path(run_dir) / name, f"a {kind.name} run is not a windowed neural run"
        )
    model = kind.saved_model(config["model"]["class"], config["model"]["init_kwargs"])
    model.load_state_dict(checkpoint["model_state_dict"])
    model.to(device).eval()
    return model, config, Normaliser.from_dict(config["data"]["normaliser"])


@torch.no_grad()
def predict_windows(
    model: NeuralClassifier, x: np.ndarray, embeddings: bool = False, batch_size: int = 512
) -> np.ndarray:
    """Depressed-probability (or embedding) of each window, in batches, in eval mode.

    Parameters
    ----------
    model : NeuralClassifier
        AudioRNN or FaceSTRNN.
    x : numpy.ndarray
        Windows ``(N, T, F)``.
    embeddings : bool, default False
        Return the ``(N, D)`` embeddings instead of ``(N,)`` probabilities.
    batch_size : int
        Windows per forward pass.
    """
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(x), batch_size):
        xb = torch.as_tensor(x[start : start + batch_size], device=device)  # (B, T, F)
        if embeddings:
            out.append(model.embed(xb).float().cpu())  # (B, D)
            continue
        logits = model.logits(xb)  # (B, 2)
        out.append(torch.softmax(logits.float(), dim=1)[:, 1].cpu())  # (B,)
    if not out:
        return np.zeros((0,), dtype=np.float32)
    return torch.cat(out).numpy()


def embed_splits(
    run: Any, corpus: Corpus, splits: Sequence[str]
) -> dict[str, dict[int, tuple[np.ndarray | None, float]]]:
    """Per split: participant ID to (mean window embedding ``(D,)``, mean probability).

    ``run`` is a :class:`core.kinds.base.LoadedRun` of an audio or face run.
    """
    windows, _, _ = load_windows(
        corpus,
        feature_settings(run.config),
        window_settings(run.config),
        splits=splits,
        normaliser=run.normaliser,
    )
    out = {}
    for split in splits:
        ws = windows[split]
        embeddings = predict_windows(run.model, ws.x, embeddings=True)  # (N, D)
        probs = predict_windows(run.model, ws.x)  # (N,)
        ids, mean_probs, _ = aggregate_windows(ws.participant_ids, probs)
        out[split] = {
            int(pid): (embeddings[ws.participant_ids == pid].mean(axis=0), float(p))
            for pid, p in zip(ids, mean_probs, strict=True)
        }
    return out
