"""Mini-batches over windows that already live on the training device.

The whole split is moved to the device once; each batch is an index slice, so there is
no ``DataLoader``, no worker process and no per-batch ``.to(device)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

Inputs = torch.Tensor | dict[str, torch.Tensor]


def _to_device_float(x: Any, device: torch.device) -> torch.Tensor:
    """Return ``x`` as a float32 tensor on ``device`` (no copy when it already is)."""
    return torch.as_tensor(x, dtype=torch.float32, device=device)


def _take(x: Inputs, index: torch.Tensor | slice) -> Inputs:
    """Select rows of a tensor, or of every tensor in a dict."""
    if isinstance(x, dict):
        return {name: value[index] for name, value in x.items()}
    return x[index]


class WindowBatches:
    """Iterate over ``(xb, yb, idx)`` mini-batches of windows held on one device.

    Parameters
    ----------
    x : array-like or mapping of str to array-like
        Inputs, shape (N, T, F) or (N, F); converted to float32. A mapping (for the
        fusion model) holds several inputs with the same first dimension N; batches are
        then dicts with the same keys.
    y : array-like
        Class labels, shape (N,); converted to int64.
    participant_ids : array-like
        Participant ID of every window, shape (N,); kept on the CPU as int64 NumPy.
    batch_size : int
        Windows per batch (the last batch may be smaller unless ``drop_last``).
    shuffle : bool
        Draw a new order every pass, from this object's own generator.
    seed : int, default 0
        Seed of the shuffling generator.
    device : str or torch.device, default "cpu"
        Where the tensors live; they are moved there once, here.
    drop_last : bool, default False
        Skip a final short batch (BatchNorm models cannot train on a batch of one).

    Attributes
    ----------
    x, y : torch.Tensor
        The data, on ``device``.
    participant_ids : numpy.ndarray
        int64, shape (N,).

    Notes
    -----
    ``idx`` holds the dataset positions of a batch's windows (a tensor on ``device``);
    ``participant_ids_of(idx)`` maps them to participants. ``state_dict`` and
    ``load_state_dict`` save and restore the shuffling generator so that a resumed run
    sees the same batch order as an uninterrupted one.
    """

    def __init__(
        self,
        x: Any,
        y: Any,
        participant_ids: Any,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        device: str | torch.device = "cpu",
        drop_last: bool = False,
    ) -> None:
        self.device = torch.device(device)
        if isinstance(x, Mapping):
            self.x: Inputs = {k: _to_device_float(v, self.device) for k, v in x.items()}
            sizes = {len(v) for v in self.x.values()}
        else:
            self.x = _to_device_float(x, self.device)
            sizes = {len(self.x)}
        self.y = torch.as_tensor(y, dtype=torch.int64, device=self.device)
        if isinstance(participant_ids, torch.Tensor):
            participant_ids = participant_ids.detach().cpu().numpy()
        self.participant_ids = np.asarray(participant_ids, dtype=np.int64)
        sizes |= {len(self.y), len(self.participant_ids)}
        if len(sizes) != 1:
            raise ValueError(
                f"x, y and participant_ids must have the same length, got sizes {sorted(sizes)}."
            )
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = int(seed)
        self._generator = torch.Generator(device="cpu")
        self._generator.manual_seed(self.seed)
        self._positions = torch.arange(len(self.y), device=self.device)  # (N,)

    @property
    def n_windows(self) -> int:
        """Number of windows (N)."""
        return len(self.y)

    def __len__(self) -> int:
        """Number of batches in one pass."""
        if self.drop_last:
            return self.n_windows // self.batch_size
        return -(-self.n_windows // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Inputs, torch.Tensor, torch.Tensor]]:
        """Yield ``(xb, yb, idx)``; a shuffled pass advances the generator once."""
        n, size = self.n_windows, self.batch_size
        end = n - n % size if self.drop_last else n
        if self.shuffle:
            order = torch.randperm(n, generator=self._generator).to(self.device)  # (N,)
            for start in range(0, end, size):
                idx = order[start : start + size]  # (B,)
                yield _take(self.x, idx), self.y[idx], idx
        else:
            for start in range(0, end, size):
                rows = slice(start, start + size)  # views, no copy
                yield _take(self.x, rows), self.y[rows], self._positions[rows]

    def participant_ids_of(self, idx: torch.Tensor) -> np.ndarray:
        """Return the participant IDs of the windows at positions ``idx``.

        Parameters
        ----------
        idx : torch.Tensor
            Positions, as yielded with a batch.

        Returns
        -------
        numpy.ndarray
            int64 participant IDs, same length as ``idx``.
        """
        return self.participant_ids[idx.detach().cpu().numpy()]

    def state_dict(self) -> dict[str, Any]:
        """Return the shuffling state (tensors and plain values only)."""
        return {"seed": self.seed, "generator_state": self._generator.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the shuffling state saved by :meth:`state_dict`.

        Parameters
        ----------
        state : mapping
            As returned by :meth:`state_dict`.
        """
        self.seed = int(state["seed"])
        self._generator.set_state(torch.as_tensor(state["generator_state"]).cpu())
