"""Learned fusion of audio/face embeddings and the text probability, plus late fusion.

Participants missing a modality get zeros for it and a 0 in the availability mask.
Text probabilities used to train fusion must be out-of-fold (see
:func:`core.models.text.out_of_fold_proba`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from core.models.interface import NeuralClassifier

#: Order of the modalities in the availability mask.
MODALITIES = ("audio", "face", "text")


class FusionNet(NeuralClassifier):
    """MLP over ``[audio_emb, face_emb, text_prob, mask]`` giving two logits.

    Parameters
    ----------
    audio_dim : int
        Size of the audio embedding (``AudioRNN``: ``hidden_size // 2``).
    face_dim : int
        Size of the face embedding (``FaceSTRNN``: ``hidden_size``).
    hidden_size : int, default 32
        Width of the hidden layer.
    dropout : float, default 0.3
        Dropout after the hidden layer.

    Attributes
    ----------
    init_kwargs : dict
        The constructor arguments, stored so a checkpoint can rebuild the model.

    Notes
    -----
    :meth:`logits` and :meth:`embed` take the four named inputs as one mapping (as
    :class:`~core.training.batches.WindowBatches` yields them); it has no attention.
    """

    def __init__(self, audio_dim: int, face_dim: int, hidden_size: int = 32, dropout: float = 0.3):
        super().__init__()
        self.init_kwargs = {
            "audio_dim": int(audio_dim),
            "face_dim": int(face_dim),
            "hidden_size": int(hidden_size),
            "dropout": float(dropout),
        }
        self.audio_dim = audio_dim
        self.face_dim = face_dim
        in_features = audio_dim + face_dim + 1 + len(MODALITIES)
        self.fc1 = nn.Linear(in_features, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden_size, 2)

    def embed(self, x: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Return the hidden layer of a batch of named inputs.

        Parameters
        ----------
        x : mapping of str to torch.Tensor
            ``audio_emb``, ``face_emb``, ``text_prob`` and ``mask`` as :meth:`forward`
            takes them.

        Returns
        -------
        torch.Tensor
            Shape (B, hidden_size), after ReLU and dropout.
        """
        return self._hidden(x["audio_emb"], x["face_emb"], x["text_prob"], x["mask"])  # (B, hidden)

    def logits_from_embedding(self, embedding: torch.Tensor) -> torch.Tensor:
        """Return the (B, 2) logits ``fc2(embedding)`` of the (B, hidden_size) hidden layer."""
        return self.fc2(embedding)  # (B, hidden) -> (B, 2)

    def _hidden(
        self,
        audio_emb: torch.Tensor,
        face_emb: torch.Tensor,
        text_prob: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """The hidden layer; see :meth:`forward` for the inputs."""
        if text_prob.dim() == 1:
            text_prob = text_prob.unsqueeze(-1)  # (B,) -> (B, 1)
        mask = mask.to(audio_emb.dtype)  # (B, 3)
        available = mask > 0  # (B, 3)
        audio_emb = torch.where(available[:, 0:1], audio_emb, 0.0)  # (B, A)
        face_emb = torch.where(available[:, 1:2], face_emb, 0.0)  # (B, Fe)
        text_prob = torch.where(available[:, 2:3], text_prob, 0.0)  # (B, 1)
        features = torch.cat([audio_emb, face_emb, text_prob, mask], dim=1)  # (B, A+Fe+1+3)
        return self.dropout(torch.relu(self.fc1(features)))  # (B, hidden)

    def forward(
        self,
        audio_emb: torch.Tensor,
        face_emb: torch.Tensor,
        text_prob: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """Fuse one row per participant.

        Parameters
        ----------
        audio_emb : torch.Tensor
            Shape (B, audio_dim).
        face_emb : torch.Tensor
            Shape (B, face_dim).
        text_prob : torch.Tensor
            Shape (B, 1) or (B,), out-of-fold depressed-probability from the text model.
        mask : torch.Tensor
            Shape (B, 3), 1 where audio / face / text is available, else 0. Inputs of
            unavailable modalities are zeroed here whatever they hold (NaN included).

        Returns
        -------
        torch.Tensor
            Logits of shape (B, 2).
        """
        hidden = self._hidden(audio_emb, face_emb, text_prob, mask)  # (B, hidden)
        return self.logits_from_embedding(hidden)  # (B, 2)


def late_fusion(probs: Mapping[str, np.ndarray | None]) -> np.ndarray:
    """Average the available per-participant depressed-probabilities.

    Parameters
    ----------
    probs : mapping of str to numpy.ndarray or None
        Modality name to an array of shape (n_participants,), all aligned to the same
        participants. ``None`` means the modality is missing for everyone; NaN entries mean
        it is missing for that participant.

    Returns
    -------
    numpy.ndarray
        Shape (n_participants,); NaN where no modality is available for a participant.

    Raises
    ------
    ValueError
        If no modality is given or the arrays differ in length.
    """
    arrays = {
        name: np.asarray(p, dtype=float).ravel() for name, p in probs.items() if p is not None
    }
    if not arrays:
        raise ValueError("late_fusion needs at least one modality's probabilities.")
    lengths = {name: a.shape[0] for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"Probability arrays differ in length: {lengths}.")
    stacked = np.vstack(list(arrays.values()))  # (M, N)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # all-NaN columns -> NaN
        return np.nanmean(stacked, axis=0)
