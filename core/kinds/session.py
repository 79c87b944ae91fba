"""One participant as a saved audio or face run sees them: windows, scores, timeline.

The windows are cut exactly as for training (:func:`core.data.features.cut_windows`) with
the run's own feature and window settings and its saved normaliser, so an explanation is
about the inputs the model really scores. :func:`to_timeline` places per-step values of
overlapping windows back on the session's time axis. :func:`score_neural` scores the
participant with forward passes only (the explanation is :mod:`core.explain.neural`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from core.data import Corpus, DataError
from core.data.cache import FrameCache
from core.data.features import Normaliser, cut_windows, extract_session
from core.data.gate import session_turns
from core.kinds.neural_run import feature_settings, window_settings
from core.models import NeuralClassifier


@dataclass
class SessionWindows:
    """The windows of one session under one run's settings.

    Attributes
    ----------
    pid : int
        Participant ID.
    x : numpy.ndarray
        Normalised windows ``(W, T, F)``, float32.
    times : numpy.ndarray
        Session time of each step ``(W, T)``, float32; NaN for padded steps.
    feature_names : list of str
        The ``F`` names.
    rate_hz : float
        Bins per second.
    turns : numpy.ndarray
        The participant's merged ``(start, stop)`` turns in seconds ``(k, 2)`` (empty when
        the session has no readable transcript).
    notes : list of str
        What extraction noticed (gate fallback, skipped bins, ...).
    """

    pid: int
    x: np.ndarray
    times: np.ndarray
    feature_names: list[str]
    rate_hz: float
    turns: np.ndarray
    notes: list[str]

    def __len__(self) -> int:
        return len(self.x)


def session_windows(
    corpus: Corpus,
    pid: int,
    config: dict[str, Any],
    normaliser: Normaliser,
    cache: FrameCache | None = None,
) -> SessionWindows:
    """Cut one participant's session into the run's windows.

    Parameters
    ----------
    corpus : Corpus
        Corpus holding the session (the active corpus or an uploaded one).
    pid : int
        Participant ID.
    config : dict
        The run's configuration (from its checkpoint).
    normaliser : Normaliser
        The run's normaliser (fitted on its training participants).
    cache : FrameCache, optional
        Read frames through this cache.

    Returns
    -------
    SessionWindows
        Possibly with no window (``len == 0``; ``notes`` says why).

    Raises
    ------
    DataError
        A file the run's features need is missing or unreadable.
    ValueError
        The session's features differ from the ones the run was trained on.
    """
    settings = feature_settings(config)
    if cache is None:
        frames = extract_session(corpus, pid, settings)
    else:
        frames = cache.get(corpus, pid, settings, extract=extract_session)
    expected = normaliser.feature_names_in_
    if expected is not None and list(expected) != list(frames.feature_names):
        raise DataError(
            f"participant {pid}",
            f"the session gives {len(frames.feature_names)} features but the run was "
            f"trained on {len(expected)}; the files differ from the training data",
        )
    windows = window_settings(config)
    length, hop = windows.length(settings.rate), windows.hop(settings.rate)
    x, times = cut_windows(frames.times, frames.values, length, hop)  # (W, T, F), (W, T)
    notes = list(frames.notes)
    if not len(x):
        notes.append(
            f"no window: {len(frames)} bins kept, a window needs {length} "
            f"(at least {(length + 1) // 2} with padding)"
        )
    try:
        turns = session_turns(corpus, pid) if corpus.source(pid).has("transcript") else None
    except DataError as error:
        turns, notes = None, [*notes, f"participant turns not shown: {error}"]
    return SessionWindows(
        pid=pid,
        x=normaliser.transform(x, copy=False),
        times=times,
        feature_names=list(frames.feature_names),
        rate_hz=settings.rate,
        turns=np.zeros((0, 2)) if turns is None else turns,
        notes=notes,
    )


def time_grid(times: np.ndarray, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Bin index of every step on one session grid, and the grid's bin centres.

    Parameters
    ----------
    times : numpy.ndarray
        Step times ``(W, T)`` (bin centres ``(k + 0.5) / rate_hz``; NaN for padding).
    rate_hz : float
        Bins per second.

    Returns
    -------
    index : numpy.ndarray
        ``(W, T)`` int64 column of each step, -1 for padding.
    centres : numpy.ndarray
        ``(n_bins,)`` time of each column, from the first to the last step.
    """
    finite = np.isfinite(times)
    if not finite.any():
        return np.full(times.shape, -1, np.int64), np.zeros(0)
    bins = np.where(finite, np.rint(np.nan_to_num(times) * rate_hz - 0.5), -1).astype(np.int64)
    first, last = bins[finite].min(), bins[finite].max()
    index = np.where(finite, bins - first, -1)
    centres = (np.arange(first, last + 1) + 0.5) / rate_hz
    return index, centres


def to_timeline(
    values: np.ndarray, times: np.ndarray, rate_hz: float, max_columns: int = 1500
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Average per-step values of overlapping windows onto the session's time axis.

    Parameters
    ----------
    values : numpy.ndarray
        ``(W, T)`` or ``(W, T, F)`` per-step values.
    times : numpy.ndarray
        ``(W, T)`` step times (NaN for padding).
    rate_hz : float
        Bins per second.
    max_columns : int, default 1500
        At most this many time columns: neighbouring bins are averaged together
        (``ceil(n_bins / max_columns)`` per column) so long sessions stay drawable.

    Returns
    -------
    centres : numpy.ndarray
        ``(C,)`` time of each column (seconds).
    by_window : numpy.ndarray or None
        ``(W, C)``: each window's values in its own row, NaN elsewhere (None for
        per-feature ``(W, T, F)`` values).
    mean : numpy.ndarray
        ``(C,)`` (or ``(C, F)``) the mean over the windows covering each column, NaN where
        none does (between participant turns, for instance).
    """
    index, centres = time_grid(times, rate_hz)  # (W, T), (n_bins,)
    per_column = max(1, int(np.ceil(len(centres) / max_columns)))
    columns = int(np.ceil(len(centres) / per_column))
    column = np.where(index >= 0, index // per_column, -1)  # (W, T)
    extra = values.shape[2:]
    w_idx, t_idx = np.nonzero(column >= 0)
    flat_col = column[w_idx, t_idx]  # (S,)
    step_values = values[w_idx, t_idx].astype(np.float64)  # (S, *extra)
    total = np.zeros((columns, *extra))
    np.add.at(total, flat_col, step_values)
    count = np.bincount(flat_col, minlength=columns).astype(np.float64)  # (C,)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count.reshape((columns,) + (1,) * len(extra))
    by_window = None
    if not extra:  # each window in its own row (per-feature values: the mean only)
        rows = np.zeros((len(values), columns))
        rows_count = np.zeros((len(values), columns))
        np.add.at(rows, (w_idx, flat_col), step_values)
        np.add.at(rows_count, (w_idx, flat_col), 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            by_window = rows / rows_count
    group = np.arange(len(centres)) // per_column  # (n_bins,) column of each bin
    centres = np.bincount(group, weights=centres) / np.bincount(group)  # (C,)
    return centres, by_window, mean


@dataclass
class NeuralScore:
    """An audio or face run's view of one participant: forward passes, no explanation.

    Attributes
    ----------
    windows : SessionWindows
        The session cut into the run's windows (normalised).
    window_probs : numpy.ndarray
        ``(W,)`` depressed-probability of each window.
    embedding : numpy.ndarray or None
        ``(D,)`` the mean window embedding (the fusion's input); None without windows.
    """

    windows: SessionWindows
    window_probs: np.ndarray
    embedding: np.ndarray | None

    @property
    def probability(self) -> float:
        """The participant's depressed-probability: the mean over windows (NaN if none)."""
        return float(self.window_probs.mean()) if len(self.window_probs) else float("nan")


def score_neural(
    model: NeuralClassifier,
    config: dict[str, Any],
    normaliser: Normaliser,
    corpus: Corpus,
    pid: int,
    cache: FrameCache | None = None,
) -> NeuralScore:
    """Score one participant with a loaded audio or face run (see :func:`load_neural_run`).

    Parameters
    ----------
    model : NeuralClassifier
        The run's model, in eval mode.
    config : dict
        The run's configuration (from its checkpoint).
    normaliser : Normaliser
        The run's normaliser.
    corpus : Corpus
        Corpus holding the participant.
    pid : int
        Participant ID.
    cache : FrameCache, optional
        Read the frames through this cache.

    Raises
    ------
    DataError
        A file the run needs is missing or unreadable (the message names it).
    ValueError
        The session's features differ from the run's.
    """
    windows = session_windows(corpus, pid, config, normaliser, cache)
    probs, embeddings = window_outputs(model, windows.x)  # (W,), (W, D)
    embedding = embeddings.mean(axis=0) if len(windows) else None  # (D,)
    return NeuralScore(windows, probs, embedding)


@torch.no_grad()
def window_outputs(
    model: NeuralClassifier, x: np.ndarray, batch_size: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """Depressed-probability and embedding of each window, from one forward pass.

    The logits come from the embedding (``model.logits_from_embedding``) instead of a
    second pass through the LSTM, the dearest part of scoring.
    The result equals :func:`predict_windows` with and without ``embeddings``.

    Parameters
    ----------
    model : NeuralClassifier
        AudioRNN or FaceSTRNN (eval mode is set here).
    x : numpy.ndarray
        Windows ``(N, T, F)``.
    batch_size : int, default 512
        Windows per forward pass.

    Returns
    -------
    probabilities : numpy.ndarray
        ``(N,)`` float32.
    embeddings : numpy.ndarray
        ``(N, D)`` float32.
    """
    model.eval()
    device = next(model.parameters()).device
    probs, embeddings = [], []
    for start in range(0, len(x), batch_size):
        xb = torch.as_tensor(x[start : start + batch_size], device=device)  # (B, T, F)
        embedding = model.embed(xb)  # (B, D)
        logits = model.logits_from_embedding(embedding).float()  # (B, 2)
        probs.append(torch.softmax(logits, dim=1)[:, 1].cpu())  # (B,)
        embeddings.append(embedding.float().cpu())
    if not probs:
        return np.zeros(0, np.float32), np.zeros((0, 0), np.float32)
    return torch.cat(probs).numpy(), torch.cat(embeddings).numpy()
