"""Trainers for the audio, face and fusion models.

All three classify batches ``(inputs, labels, idx)`` from
:class:`~core.training.batches.WindowBatches` and score validation per participant
(window probabilities are averaged per participant first, SPEC section 3).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from core.training.base import BaseTrainer

MetricsFn = Callable[[np.ndarray, np.ndarray, np.ndarray], dict[str, Any]]


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
    return {f"val_{name}": value for name, value in participant_metrics(labels, probs).items()}


class WindowClassifierTrainer(BaseTrainer):
    """Shared epoch and validation logic for models that output class logits.

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

    def forward_logits(self, inputs: Any) -> torch.Tensor:
        """Return the (B, C) logits for a batch of inputs."""
        return self.model(inputs)

    def train_epoch(self, loader: Any) -> float:
        """Train one pass; return the mean loss per window (NaN if nothing ran)."""
        self.model.train()
        total = torch.zeros((), device=self.device)
        n_windows = 0
        for inputs, labels, _ in self.iter_batches(loader):
            with self.autocast():
                logits = self.forward_logits(inputs)  # (B, C)
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
                logits = self.forward_logits(inputs).float()  # (B, C)
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


class FaceSTRNNTrainer(WindowClassifierTrainer):
    """Trains :class:`~core.models.face_strnn.FaceSTRNN`, which also returns attention.

    The model's BatchNorm cannot train on a batch of one window: build the training
    :class:`~core.training.batches.WindowBatches` with ``drop_last=True`` when the last
    batch could be that small.
    """

    def forward_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """Return the logits, dropping the spatial and temporal attention weights."""
        logits, _spatial, _temporal = self.model(inputs)  # (B, C), (B, T, 1), (B, T)
        return logits


class MultimodalFusionTrainer(WindowClassifierTrainer):
    """Trains :class:`~core.models.fusion.FusionNet` on one row per participant.

    Batches hold dict inputs (``audio_emb``, ``face_emb``, ``text_prob``, ``mask``) as
    built by ``WindowBatches`` from a mapping; each row is a participant, so the
    participant-level metrics need no aggregation. The shared epoch loop is used as is:
    the audio and face embeddings and out-of-fold text probabilities are computed
    beforehand, so fusion training is an ordinary classification loop.
    """

    def forward_logits(self, inputs: dict[str, torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """Call the model with the batch's named inputs."""
        if isinstance(inputs, dict):
            return self.model(**inputs)
        return self.model(inputs)
