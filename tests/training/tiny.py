"""A tiny sequence classifier shared by the training tests."""

import torch
from torch import nn

from core.models.interface import NeuralClassifier


class TinyNet(NeuralClassifier):
    def __init__(self, input_size=3, hidden_size=8, dropout=0.3):
        super().__init__()
        self.init_kwargs = {
            "input_size": input_size,
            "hidden_size": hidden_size,
            "dropout": dropout,
        }
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_size, 2)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)  # (B, T, H)
        return out[:, -1]  # (B, H)

    def logits_from_embedding(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(embedding))  # (B, 2)

    def forward(self, x):
        return self.logits(x)  # (B, 2)
