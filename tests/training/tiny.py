"""A tiny sequence classifier shared by the training tests."""

from torch import nn


class TinyNet(nn.Module):
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

    def forward(self, x):
        out, _ = self.lstm(x)  # (B, T, H)
        return self.fc(self.dropout(out[:, -1]))  # (B, 2)
