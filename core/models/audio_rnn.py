"""Attention LSTM over acoustic (COVAREP/formant) frame windows.

Parameter names and shapes are those of the original reference code, so its checkpoints
load with ``strict=True``; :class:`~core.models.interface.NeuralClassifier` adds the
named methods the rest of the project calls.
"""

from __future__ import annotations

import torch
from torch import nn

from core.models.interface import Attention, NeuralClassifier


class AudioRNN(NeuralClassifier):
    """Unidirectional LSTM with additive attention pooling over time.

    Parameters
    ----------
    input_size : int
        Number of acoustic features per frame (F).
    hidden_size : int
        LSTM hidden size (H). The embedding has ``hidden_size // 2`` units.
    num_layers : int
        Number of stacked LSTM layers.
    dropout : float
        Dropout before ``fc2``; also applied between LSTM layers when ``num_layers > 1``.

    Attributes
    ----------
    init_kwargs : dict
        The constructor arguments, stored so a checkpoint can rebuild the model.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, dropout: float):
        super().__init__()
        if hidden_size < 2:
            raise ValueError(f"AudioRNN hidden_size must be at least 2, got {hidden_size}.")
        self.init_kwargs = {
            "input_size": int(input_size),
            "hidden_size": int(hidden_size),
            "num_layers": int(num_layers),
            "dropout": float(dropout),
        }
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.lstm = nn.LSTM(
            input_size,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.attention = nn.Linear(hidden_size, 1)
        self.fc1 = nn.Linear(hidden_size, hidden_size // 2)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden_size // 2, 2)

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the embedding and the attention weights for ``x``."""
        if x.dim() == 2:
            x = x.unsqueeze(1)  # (B, F) -> (B, 1, F)
        if x.dim() != 3:
            raise ValueError(f"AudioRNN expects (B, T, F) or (B, F) input, got {tuple(x.shape)}.")
        lstm_out, _ = self.lstm(x)  # (B, T, H)
        scores = self.attention(lstm_out)  # (B, T, 1)
        weights = torch.softmax(scores, dim=1)  # (B, T, 1), sums to 1 over T
        context = (weights * lstm_out).sum(dim=1)  # (B, H)
        embedding = torch.relu(self.fc1(context))  # (B, H // 2)
        return embedding, weights.squeeze(-1)  # (B, H // 2), (B, T)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the embedding ``ReLU(fc1(context))``.

        Parameters
        ----------
        x : torch.Tensor
            Frames of shape (B, T, F), or (B, F) for a single time step.

        Returns
        -------
        torch.Tensor
            Shape (B, hidden_size // 2).
        """
        embedding, _ = self._encode(x)  # (B, H // 2)
        return embedding

    def logits_from_embedding(self, embedding: torch.Tensor) -> torch.Tensor:
        """Return the logits ``fc2(dropout(embedding))``.

        Parameters
        ----------
        embedding : torch.Tensor
            Shape (B, hidden_size // 2), from :meth:`embed`.

        Returns
        -------
        torch.Tensor
            Shape (B, 2); index 1 is the depressed class.
        """
        return self.fc2(self.dropout(embedding))  # (B, H // 2) -> (B, 2)

    def attend(self, x: torch.Tensor) -> Attention:
        """Return the logits and the attention weights over time, from one pass.

        Parameters
        ----------
        x : torch.Tensor
            Frames of shape (B, T, F), or (B, F) for a single time step.

        Returns
        -------
        Attention
            ``logits`` (B, 2) and ``temporal`` (B, T); no spatial gate.
        """
        embedding, weights = self._encode(x)  # (B, H // 2), (B, T)
        return Attention(logits=self.logits_from_embedding(embedding), temporal=weights)

    def forward(self, x: torch.Tensor, return_embedding: bool = False) -> torch.Tensor:
        """Classify a batch of frame windows (the reference signature).

        Parameters
        ----------
        x : torch.Tensor
            Frames of shape (B, T, F), or (B, F) for a single time step.
        return_embedding : bool, default False
            Return the (B, hidden_size // 2) embedding ``ReLU(fc1(context))`` instead of
            the logits.

        Returns
        -------
        torch.Tensor
            Logits of shape (B, 2), or the embedding.
        """
        embedding = self.embed(x)  # (B, H // 2)
        if return_embedding:
            return embedding
        return self.logits_from_embedding(embedding)  # (B, 2)
