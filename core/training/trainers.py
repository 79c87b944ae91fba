"""The trainer of every neural model: audio, face and fusion.

Each classifies batches ``(inputs, labels, idx)`` from
:class:`~core.training.batches.WindowBatches` through the model's ``logits`` method
(:class:`~core.models.interface.NeuralClassifier`), so no model needs a trainer of its
own, and scores validation per participant (window probabilities are averaged per
participant first); the loss's class weights are counted over participants too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import torch

from core.models.interface import NeuralClassifier
from core.training.base import BaseTrainer

MetricsFn = Callable[[np.ndarray, np.ndarray, np.ndarray], dict[str, Any]]


def class_weights_from_participants(
    participant_labels: Iterable[int] | Mapping[Any, int], n_classes: int = 2
) -> torch.Tensor:
    """Class weights ``n / (n_classes * n_c)`` counted over participants, not windows.

    Parameters
    ----------
    participant_labels : iterable of int, or mapping of participant ID to int
        One label per participant.
    n_classes : int, default 2
        Number of classes.

    Returns
    -------
    torch.Tensor
        float32, shape (n_classes,), for ``nn.CrossEntropyLoss(weight=...)``.

    Raises
    ------
    ValueError
        If there are no participants or a class has none.
    """
    if isinstance(participant_labels, Mapping):
        participant_labels = participant_labels.values()
    labels = np.asarray(list(participant_labels), dtype=np.int64)
    counts = np.bincount(labels, minlength=n_classes) if labels.size else np.zeros(n_classes)
    if labels.size == 0 or len(counts) > n_classes or (counts == 0).any():
        raise ValueError(
            f"class weights need at least one participant of each of {n_classes} classes; "
            f"got counts {counts.tolist()}"
        )
    weights = labels.size / (n_classes * counts)
    return torch.tensor(weights, dtype=torch.float32)


def participant_validation_metrics(
    participant_ids: np.ndarray, window_probs: np.ndarray, window_labels: np.ndarray
) -> dict[str, Any]:
    """Participant-level metrics of window predictions, keys prefixed with ``val_``.

    Parameters
    ----------
    participant_ids : numpy.ndarray
        Participant ID of each window.
    window_probs : numpy.ndarray
        Depressed-probability of each window.
    window_labels : numpy.ndarray
        Label of each window.

    Returns
    -------
    dict
        :func:`core.evaluation.metrics.participant_metrics` of the per-participant mean
        probabilities, e.g. ``val_macro_f1``, ``val_auroc``, ``val_f1_depressed``.
    """
    from core.evaluation.metrics import aggregate_windows, participant_metrics

    _, probs, labels = aggregate_windows(participant_ids, window_probs, window_labels)
    assert labels is not None  # window_labels were given
    return {f"val_{name}": value for name, value in participant_metrics(labels, probs).items()}


class WindowClassifierTrainer(BaseTrainer):
    """Trains any :class:`~core.models.interface.NeuralClassifier` on labelled batches.

    Fusion batches hold dict inputs (``audio_emb``, ``face_emb``, ``text_prob``,
    ``mask``), one row per participant, which ``FusionNet.logits`` takes as they come.
    FaceSTRNN's BatchNorm cannot train on a batch of one window: build its training
    :class:`~core.training.batches.WindowBatches` with ``drop_last=True`` when the last
    batch could be that small.

    Parameters
    ----------
    *args
        As :class:`~core.training.base.BaseTrainer`.
    max_grad_norm : float, optional
        Clip gradients to this norm before each step (None: no clipping).
    metrics_fn : callable, optional
        ``metrics_fn(participant_ids, window_probs, window_labels) -> dict`` added to each
        epoch's history; default :func:`participant_validation_metrics`.
    **kwargs
        As :class:`~core.training.base.BaseTrainer`.
    """

    model: NeuralClassifier

    def __init__(
        self,
        *args: Any,
        max_grad_norm: float | None = None,
        metrics_fn: MetricsFn | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_grad_norm = max_grad_norm
        self.metrics_fn = metrics_fn or participant_validation_metrics
        self.config["training"].setdefault("max_grad_norm", max_grad_norm)

    def train_epoch(self, loader: Any) -> float:
        """Train one pass; return the mean loss per window (NaN if nothing ran)."""
        self.model.train()
        total = torch.zeros((), device=self.device)
        n_windows = 0
        for inputs, labels, _ in self.iter_batches(loader):
            with self.autocast():
                logits = self.model.logits(inputs)  # (B, C)
                loss = self.criterion(logits, labels)
            self.optimizer_step(loss, self.max_grad_norm)
            total += loss.detach().float() * len(labels)
            n_windows += len(labels)
        if n_windows == 0 and not self.should_stop:
            raise ValueError("the training data yielded no batches; is the training split empty?")
        return (total / n_windows).item() if n_windows else math.nan

    @torch.no_grad()
    def validate(self, loader: Any) -> tuple[float, dict[str, Any]]:
        """Return the loss per window and participant-level metrics of ``loader``."""
        self.model.eval()
        total = torch.zeros((), device=self.device)
        probs, labels_seen, positions = [], [], []
        for inputs, labels, idx in loader:
            with self.autocast():
                logits = self.model.logits(inputs).float()  # (B, C)
            total += self.criterion(logits, labels).float() * len(labels)
            probs.append(torch.softmax(logits, dim=1)[:, 1])  # (B,)
            labels_seen.append(labels)
            positions.append(idx)
        if not positions:
            raise ValueError("the validation data yielded no batches; is the split empty?")
        labels_all = torch.cat(labels_seen)
        val_loss = (total / len(labels_all)).item()
        window_probs = torch.cat(probs).cpu().numpy()
        if not (math.isfinite(val_loss) and np.isfinite(window_probs).all()):
            return val_loss, {}  # the run fails on this loss; metrics would be garbage
        participant_ids = loader.participant_ids_of(torch.cat(positions))
        extras = self.metrics_fn(participant_ids, window_probs, labels_all.cpu().numpy())
        return val_loss, extras


class AudioRNNTrainer(WindowClassifierTrainer):
    """Trains :class:`~core.models.audio_rnn.AudioRNN`; clips gradients (default norm 1.0).

    Parameters
    ----------
    *args, **kwargs
        As :class:`WindowClassifierTrainer`.
    max_grad_norm : float or None, default 1.0
        Gradient clipping norm.
    """

    def __init__(self, *args: Any, max_grad_norm: float | None = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, max_grad_norm=max_grad_norm, **kwargs)
