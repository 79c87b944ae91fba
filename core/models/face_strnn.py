"""Spatio-temporal attention RNN (FaceSTRNN) over per-frame facial features.

Parameter names, shapes and ``forward`` outputs are those of the original reference code,
so its checkpoints load with ``strict=True``; :class:`~core.models.interface.NeuralClassifier`
adds the named methods the rest of the project calls.
"""

from __future__ import annotations

import torch
from torch import nn

from core.models.interface import Attention, NeuralClassifier


class SpatialAttention(nn.Module):
    """Sigmoid gate per time step computed from that frame's features.

    Parameters
    ----------
    input_dim : int
        Number of features per frame (F).
    """

    def __init__(self, input_dim: int):
        super().__init__()
        self.attention = nn.Sequential(
            nn.Linear(input_dim, input_dim // 2),
            nn.ReLU(),
            nn.Linear(input_dim // 2, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gate each frame.

        Parameters
        ----------
        x : torch.Tensor
            Shape (B, T, F).

        Returns
        -------
        gated : torch.Tensor
            ``x * weights``, shape (B, T, F).
        weights : torch.Tensor
            Shape (B, T, 1), each in (0, 1).
        """
        weights = self.attention(x)  # (B, T, 1)
        gated = x * weights  # (B, T, F)
        return gated, weights


class TemporalAttention(nn.Module):
    """Softmax attention pooling over time.

    Parameters
    ----------
    hidden_dim : int
        Size of each time step's representation (here 2 * LSTM hidden size).
    """

    def __init__(self, hidden_dim: int):
        super().__init__()
        self.attention = nn.Sequential(
            nn.Linear(hidden_dim, hidden_dim // 2),
            nn.Tanh(),
            nn.Linear(hidden_dim // 2, 1),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pool a sequence into one vector.

        Parameters
        ----------
        x : torch.Tensor
            Shape (B, T, D).

        Returns
        -------
        context : torch.Tensor
            Attention-weighted sum over time, shape (B, D).
        weights : torch.Tensor
            Shape (B, T, 1), as the reference returns them; sums to 1 over T.
        """
        scores = self.attention(x)  # (B, T, 1)
        weights = torch.softmax(scores, dim=1)  # (B, T, 1)
        context = (weights * x).sum(dim=1)  # (B, D)
        return context, weights  # (B, D), (B, T, 1)


class FaceSTRNN(NeuralClassifier):
    """Spatial gate, bidirectional LSTM and temporal attention over facial frames.

    Parameters
    ----------
    input_size : int
        Number of facial features per frame (F).
    hidden_size : int
        LSTM hidden size per direction (H). The embedding has ``hidden_size`` units.
    num_layers : int
        Number of stacked LSTM layers.
    num_classes : int
        Number of output logits (2 for depressed / not depressed).
    dropout : float
        Dropout on the embedding; also between LSTM layers when ``num_layers > 1``.

    Attributes
    ----------
    init_kwargs : dict
        The constructor arguments, stored so a checkpoint can rebuild the model.

    Notes
    -----
    The embedding is taken after batch norm and dropout, as in the reference, so
    :meth:`logits_from_embedding` is ``fc2`` alone. ``batch_norm`` needs more than one
    sample per batch in training mode.
    """

    has_spatial_gate = True

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        num_classes: int,
        dropout: float,
    ):
        super().__init__()
        self.init_kwargs = {
            "input_size": int(input_size),
            "hidden_size": int(hidden_size),
            "num_layers": int(num_layers),
            "num_classes": int(num_classes),
            "dropout": float(dropout),
        }
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.spatial_attention = SpatialAttention(input_size)
        self.lstm = nn.LSTM(
            input_size,
            hidden_size,
            num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.temporal_attention = TemporalAttention(hidden_size * 2)
        self.fc1 = nn.Linear(hidden_size * 2, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.batch_norm = nn.BatchNorm1d(hidden_size)
        self.fc2 = nn.Linear(hidden_size, num_classes)

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return the embedding, the spatial gate and the temporal weights for ``x``."""
        if x.dim() != 3:
            raise ValueError(f"FaceSTRNN expects (B, T, F) input, got {tuple(x.shape)}.")
        gated, spatial_weights = self.spatial_attention(x)  # (B, T, F), (B, T, 1)
        lstm_out, _ = self.lstm(gated)  # (B, T, 2H)
        context, temporal_weights = self.temporal_attention(lstm_out)  # (B, 2H), (B, T, 1)
        hidden = torch.relu(self.fc1(context))  # (B, H)
        embedding = self.dropout(self.batch_norm(hidden))  # (B, H)
        return embedding, spatial_weights, temporal_weights

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Return the embedding (after batch norm and dropout).

        Parameters
        ----------
        x : torch.Tensor
            Shape (B, T, F).

        Returns
        -------
        torch.Tensor
            Shape (B, hidden_size).
        """
        embedding, _, _ = self._encode(x)  # (B, H)
        return embedding

    def logits_from_embedding(self, embedding: torch.Tensor) -> torch.Tensor:
        """Return the logits ``fc2(embedding)``.

        Parameters
        ----------
        embedding : torch.Tensor
            Shape (B, hidden_size), from :meth:`embed`.

        Returns
        -------
        torch.Tensor
            Shape (B, num_classes).
        """
        return self.fc2(embedding)  # (B, H) -> (B, num_classes)

    def attend(self, x: torch.Tensor) -> Attention:
        """Return the logits, the temporal weights and the spatial gate, from one pass.

        Parameters
        ----------
        x : torch.Tensor
            Shape (B, T, F).

        Returns
        -------
        Attention
            ``logits`` (B, num_classes), ``temporal`` (B, T) and ``spatial`` (B, T).
        """
        embedding, spatial, temporal = self._encode(x)  # (B, H), (B, T, 1), (B, T, 1)
        return Attention(
            logits=self.logits_from_embedding(embedding),  # (B, num_classes)
            temporal=temporal.squeeze(-1),  # (B, T)
            spatial=spatial.squeeze(-1),  # (B, T)
        )

    def forward(
        self, x: torch.Tensor, return_embedding: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Classify a batch of facial frame windows (the reference signature and outputs).

        Parameters
        ----------
        x : torch.Tensor
            Shape (B, T, F).
        return_embedding : bool, default False
            Return only the (B, hidden_size) embedding (after batch norm and dropout).

        Returns
        -------
        logits : torch.Tensor
            Shape (B, num_classes).
        spatial_weights : torch.Tensor
            Shape (B, T, 1), per-frame gates in (0, 1).
        temporal_weights : torch.Tensor
            Shape (B, T, 1), softmax over time.

        Or the embedding tensor alone when ``return_embedding`` is True.
        """
        embedding, spatial_weights, temporal_weights = self._encode(x)  # (B, H), 2 x (B, T, 1)
        if return_embedding:
            return embedding
        logits = self.logits_from_embedding(embedding)  # (B, num_classes)
        return logits, spatial_weights, temporal_weights
