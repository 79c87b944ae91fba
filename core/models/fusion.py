"""Learned fusion of its sources' embeddings and probabilities, plus late fusion.

A fusion's inputs are named by its caller (for example ``audio_emb`` of width 32,
``text_prob`` of width 1), one per source, in the order of the availability mask.
Participants missing a source get zeros for it and a 0 in the mask. Text probabilities
used to train fusion must be out-of-fold (see :func:`core.models.text.out_of_fold_proba`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from core.models.interface import NeuralClassifier


class FusionNet(NeuralClassifier):
    """MLP over the concatenated inputs and their availability mask, giving two logits.

    Parameters
    ----------
    audio_dim, face_dim : int, optional
        The original three-source form: inputs ``audio_emb`` (``audio_dim``),
        ``face_emb`` (``face_dim``) and ``text_prob`` (1), as its checkpoints name them.
    hidden_size : int, default 32
        Width of the hidden layer.
    dropout : float, default 0.3
        Dropout after the hidden layer.
    inputs : mapping of str to int, optional
        Any set of sources instead: input name to width, in mask order (give either
        ``inputs`` or ``audio_dim`` and ``face_dim``).

    Attributes
    ----------
    init_kwargs : dict
        The constructor arguments, stored so a checkpoint can rebuild the model.
    inputs : dict
        Input name to width, in mask order (the three-source form included).

    Notes
    -----
    :meth:`logits` and :meth:`embed` take the named inputs and ``mask`` as one mapping
    (as :class:`~core.training.batches.WindowBatches` yields them); it has no attention.
    The layout ``[input_1, ..., input_k, mask]`` of the three-source form is the
    original one, so its checkpoints load with ``strict=True``.
    """

    def __init__(
        self,
        audio_dim: int | None = None,
        face_dim: int | None = None,
        hidden_size: int = 32,
        dropout: float = 0.3,
        *,
        inputs: Mapping[str, int] | None = None,
    ):
        super().__init__()
        if (inputs is None) == (audio_dim is None or face_dim is None):
            raise ValueError("give FusionNet either inputs or audio_dim and face_dim")
        self.init_kwargs: dict[str, Any]
        if inputs is None:
            assert audio_dim is not None and face_dim is not None  # checked just above
            self.init_kwargs = {"audio_dim": int(audio_dim), "face_dim": int(face_dim)}
            inputs = {"audio_emb": int(audio_dim), "face_emb": int(face_dim), "text_prob": 1}
        else:
            inputs = {str(name): int(width) for name, width in inputs.items()}
            if not inputs or min(inputs.values()) < 1:
                raise ValueError(f"FusionNet inputs need a positive width each: {inputs}")
            self.init_kwargs = {"inputs": dict(inputs)}
        self.init_kwargs.update(hidden_size=int(hidden_size), dropout=float(dropout))
        self.inputs = dict(inputs)
        in_features = sum(self.inputs.values()) + len(self.inputs)
        self.fc1 = nn.Linear(in_features, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden_size, 2)

    def embed(self, x: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Return the hidden layer of a batch of named inputs.

        Parameters
        ----------
        x : mapping of str to torch.Tensor
            Each input of :attr:`inputs` ``(B, width)`` (a width-1 input may be
            ``(B,)``) and ``mask`` ``(B, k)``.

        Returns
        -------
        torch.Tensor
            Shape (B, hidden_size), after ReLU and dropout.
        """
        return self._hidden([x[name] for name in self.inputs], x["mask"])  # (B, hidden)

    def logits_from_embedding(self, embedding: torch.Tensor) -> torch.Tensor:
        """Return the (B, 2) logits ``fc2(embedding)`` of the (B, hidden_size) hidden layer."""
        return self.fc2(embedding)  # (B, hidden) -> (B, 2)

    def _hidden(self, tensors: list[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        """The hidden layer of the inputs in mask order; see :meth:`forward`."""
        mask = mask.to(tensors[0].dtype)  # (B, k)
        available = mask > 0  # (B, k)
        parts = []
        for column, tensor in enumerate(tensors):
            if tensor.dim() == 1:
                tensor = tensor.unsqueeze(-1)  # (B,) -> (B, 1)
            parts.append(torch.where(available[:, column : column + 1], tensor, 0.0))  # (B, w)
        features = torch.cat([*parts, mask], dim=1)  # (B, sum(w) + k)
        return self.dropout(torch.relu(self.fc1(features)))  # (B, hidden)

    def forward(self, *tensors: torch.Tensor, **named: torch.Tensor) -> torch.Tensor:
        """Fuse one row per participant.

        Parameters
        ----------
        *tensors : torch.Tensor
            The inputs in mask order, then the mask; the three-source form:
            ``audio_emb`` (B, audio_dim), ``face_emb`` (B, face_dim), ``text_prob``
            (B, 1) or (B,) (out-of-fold depressed-probability of the text model) and
            ``mask`` (B, 3), 1 where a source is available, else 0. Inputs of
            unavailable sources are zeroed here whatever they hold (NaN included).
        **named : torch.Tensor
            The same by name (input names and ``mask``), instead of by position.

        Returns
        -------
        torch.Tensor
            Logits of shape (B, 2).
        """
        x = dict(zip([*self.inputs, "mask"], tensors, strict=False)) | named
        hidden = self._hidden([x[name] for name in self.inputs], x["mask"])  # (B, hidden)
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
