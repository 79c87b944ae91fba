"""Small numeric helpers every synthetic modality draws with."""

from __future__ import annotations

import numpy as np


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def _smooth(rng: np.random.Generator, n: int, cols: int, width: int) -> np.ndarray:
    """Unit-variance noise averaged over ``width`` samples, shape ``(n, cols)``."""
    width = max(1, int(width))
    csum = np.cumsum(rng.standard_normal((n + width, cols)), axis=0)  # (n + w, cols)
    return (csum[width:] - csum[:-width]) / np.sqrt(width)  # (n, cols)


def _mask(intervals: list[tuple[float, float]], n: int, rate: float) -> np.ndarray:
    """Boolean ``(n,)`` mask of the samples at ``rate`` Hz inside any interval."""
    out = np.zeros(n, dtype=bool)
    for start, stop in intervals:
        out[int(round(start * rate)) : int(round(stop * rate))] = True
    return out


def _runs(rng: np.random.Generator, n: int, mean_on: float, mean_off: float) -> np.ndarray:
    """Boolean ``(n,)`` sequence of alternating on/off runs with geometric lengths."""
    pairs = int(n / (mean_on + mean_off)) * 2 + 16
    lengths = np.empty(2 * pairs, dtype=np.int64)
    lengths[0::2] = rng.geometric(1.0 / mean_on, pairs)
    lengths[1::2] = rng.geometric(1.0 / mean_off, pairs)
    states = np.tile([True, False], pairs)
    out = np.repeat(states, lengths)
    while len(out) < n + 50:  # practically never; keeps the result exact for any n
        out = np.concatenate([out, out])
    offset = int(rng.integers(0, 50))  # start inside a run, not always at an onset
    return out[offset : offset + n]


def _rounded(x: np.ndarray, decimals: int) -> np.ndarray:
    """Round and turn ``-0.0`` into ``0.0`` so the written text is fixed."""
    return np.round(x, decimals) + 0.0


def _significant(x: np.ndarray, digits: int = 6) -> np.ndarray:
    """Round to ``digits`` significant digits, as OpenFace's C++ streams write numbers.

    Each value is rounded to a whole number of units of its last kept digit and scaled
    back by an exact power of ten, so pyarrow writes it with at most ``digits`` digits.
    """
    x = np.asarray(x, np.float64)
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log10(np.abs(x)))  # -inf where x == 0
    shift = digits - 1 - np.where(np.isfinite(exponent), exponent, 0.0).astype(np.int64)
    up = 10.0 ** np.maximum(shift, 0)  # exact powers of ten
    down = 10.0 ** np.maximum(-shift, 0)
    return np.round(x * up / down) * down / up + 0.0
