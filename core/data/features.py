"""Windows of normalised frames, per participant and split: what audio and face models see.

Per session, :func:`~core.data.frames.extract_session` reads, resamples and gates the
frames (its module docstring documents scrubbed audio, unvoiced frames, failed face
tracking, landmark normalisation and the participant-speech gate). This module then:

1. fits a :class:`Normaliser` on the **training participants' bins only** (per-feature
   NaN-ignoring mean and standard deviation), so no statistic of a dev or test
   participant leaks into training;
2. cuts each participant's kept bins, concatenated in time order, into windows of
   ``L = round(window_s * rate_hz)`` bins with hop ``max(1, round(L * (1 - overlap)))``;
   a trailing remainder shorter than a window is dropped. A participant with fewer than
   ``L`` bins but at least ``L / 2`` gets **one window padded at the end** (padded steps
   hold NaN values, which become 0 = the training mean, and NaN times); one with fewer
   than ``L / 2`` gets no window, and a note says so;
3. normalises every window (``(x - mean) / scale``, then NaN -> 0).

Every window carries its participant's ID and label, and the session times of its steps.
:func:`load_windows` does all of it for a corpus, reading frames through the
:class:`~core.data.cache.FrameCache` when one is given.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from core.data import formats
from core.data.cache import FrameCache
from core.data.corpus import Corpus
from core.data.errors import DataError
from core.data.frames import (
    DEFAULT_RATE_HZ,
    FACE_KINDS,
    FeatureSettings,
    SessionFrames,
    extract_session,
)

MAX_WORKERS = 4
"""Most sessions extracted at once (threads; each holds one session's files)."""

__all__ = [
    "DEFAULT_RATE_HZ",
    "FACE_KINDS",
    "FeatureSettings",
    "Normaliser",
    "SessionFrames",
    "WindowSet",
    "WindowSettings",
    "cut_windows",
    "extract_session",
    "load_windows",
]


@dataclass(frozen=True)
class WindowSettings:
    """How frames are cut into windows.

    Parameters
    ----------
    window_s : float, default 8.0
        Window length in seconds (80 steps of audio at 10 Hz, 40 of face at 5 Hz).
    overlap : float, default 0.5
        Fraction of a window shared with the next one, in ``[0, 1)``.

    Raises
    ------
    ValueError
        A non-positive length or an overlap outside ``[0, 1)``.
    """

    window_s: float = 8.0
    overlap: float = 0.5

    def __post_init__(self) -> None:
        if not self.window_s > 0:
            raise ValueError(f"window_s={self.window_s!r}: must be positive")
        if not 0.0 <= self.overlap < 1.0:
            raise ValueError(f"overlap={self.overlap!r}: must be in [0, 1)")

    def length(self, rate_hz: float) -> int:
        """Steps per window at ``rate_hz`` (at least 1)."""
        return max(1, round(self.window_s * rate_hz))

    def hop(self, rate_hz: float) -> int:
        """Steps between the starts of consecutive windows."""
        return max(1, round(self.length(rate_hz) * (1.0 - self.overlap)))

    def as_dict(self) -> dict:
        """The settings as plain JSON-ready values."""
        return asdict(self)


@dataclass
class WindowSet:
    """Windows of one split.

    Attributes
    ----------
    x : numpy.ndarray
        Normalised windows, shape ``(N, T, F)``, float32, no NaN.
    y : numpy.ndarray
        Label of each window's participant, shape ``(N,)``, int64.
    participant_ids : numpy.ndarray
        Participant of each window, shape ``(N,)``, int64.
    times : numpy.ndarray
        Session time (bin centre, seconds) of each step, shape ``(N, T)``, float32; NaN
        for padded steps.
    feature_names : list of str
        The ``F`` feature names.
    """

    x: np.ndarray
    y: np.ndarray
    participant_ids: np.ndarray
    times: np.ndarray
    feature_names: list[str]

    def __len__(self) -> int:
        return len(self.y)

    def participants(self) -> np.ndarray:
        """Sorted unique participant IDs, int64."""
        return np.unique(self.participant_ids)


class Normaliser:
    """Per-feature standardisation fitted on training frames (scikit-learn style).

    Attributes
    ----------
    mean_ : numpy.ndarray
        Mean of each feature over the finite values of the fitted bins, shape ``(F,)``,
        float64.
    scale_ : numpy.ndarray
        Standard deviation over the finite values (ddof 0), 1.0 where it is 0 or undefined.
    n_features_in_ : int
        ``F``.
    feature_names_in_ : list of str or None
        Names given to :meth:`fit`, if any.
    """

    def fit(
        self, frames: Sequence[np.ndarray], feature_names: Sequence[str] | None = None
    ) -> Normaliser:
        """Compute the statistics over every row of every array in ``frames``.

        Parameters
        ----------
        frames : sequence of numpy.ndarray
            Arrays of shape ``(n_i, F)`` (one per training participant); non-finite
            values (NaN, inf) are ignored.
        feature_names : sequence of str, optional
            Names of the ``F`` columns, kept for checkpoints.

        Returns
        -------
        Normaliser
            ``self``.

        Raises
        ------
        ValueError
            No array, or arrays of different widths.
        """
        frames = [np.asarray(f) for f in frames]
        if not frames:
            raise ValueError("nothing to fit: no training participant has frames")
        widths = {f.shape[1] for f in frames}
        if len(widths) != 1:
            raise ValueError(f"frames have different numbers of features: {sorted(widths)}")
        width = widths.pop()
        total, count = np.zeros(width), np.zeros(width)
        for f in frames:  # one pass per participant, accumulated in float64
            finite = np.isfinite(f)  # inf is no more a value than NaN
            total += np.sum(f, axis=0, dtype=np.float64, where=finite)
            count += np.sum(finite, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count
        squares = np.zeros(width)
        for f in frames:
            deviation = f.astype(np.float64) - mean
            squares += np.sum(deviation**2, axis=0, where=np.isfinite(deviation))
        with np.errstate(invalid="ignore", divide="ignore"):
            std = np.sqrt(squares / count)
        self.mean_ = np.where(np.isfinite(mean), mean, 0.0)
        self.scale_ = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        self.n_features_in_ = width
        self.feature_names_in_ = None if feature_names is None else list(feature_names)
        return self

    def transform(self, values: np.ndarray, copy: bool = True) -> np.ndarray:
        """Standardise ``values`` of shape ``(..., F)``; NaN becomes 0.

        Parameters
        ----------
        values : numpy.ndarray
            Shape ``(..., F)``.
        copy : bool, default True
            False: work in place when ``values`` is already a float32 array.

        Returns
        -------
        numpy.ndarray
            float32, same shape.
        """
        if not hasattr(self, "mean_"):
            raise RuntimeError("this Normaliser is not fitted yet; call fit() first")
        out = np.array(values, dtype=np.float32, copy=copy or None)  # (..., F)
        out -= self.mean_.astype(np.float32)
        out /= self.scale_.astype(np.float32)
        np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        return out

    def to_dict(self) -> dict:
        """Plain lists, for checkpoints loaded with ``weights_only=True``."""
        return {
            "mean": [float(v) for v in self.mean_],
            "scale": [float(v) for v in self.scale_],
            "feature_names": self.feature_names_in_,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Normaliser:
        """Rebuild a fitted normaliser from :meth:`to_dict`'s output."""
        out = cls()
        out.mean_ = np.asarray(data["mean"], dtype=np.float64)
        out.scale_ = np.asarray(data["scale"], dtype=np.float64)
        out.n_features_in_ = len(out.mean_)
        names = data.get("feature_names")
        out.feature_names_in_ = None if names is None else list(names)
        return out


def cut_windows(
    times: np.ndarray, values: np.ndarray, length: int, hop: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cut one participant's bins into windows (see the module docstring for padding).

    Parameters
    ----------
    times : numpy.ndarray
        Bin centres, shape ``(n,)``.
    values : numpy.ndarray
        Bin values, shape ``(n, F)``.
    length, hop : int
        Steps per window and between window starts.

    Returns
    -------
    windows : numpy.ndarray
        Shape ``(W, length, F)``, float32 (``W`` may be 0).
    window_times : numpy.ndarray
        Shape ``(W, length)``, float32.
    """
    n, n_features = values.shape
    if n >= length:
        count = 1 + (n - length) // hop
        starts = np.arange(count) * hop  # (W,)
        steps = starts[:, None] + np.arange(length)  # (W, L)
        return values[steps].astype(np.float32, copy=False), times[steps].astype(np.float32)
    if 2 * n >= length and n > 0:
        windows = np.full((1, length, n_features), np.nan, np.float32)  # (1, L, F)
        window_times = np.full((1, length), np.nan, np.float32)
        windows[0, :n] = values
        window_times[0, :n] = times
        return windows, window_times
    return np.empty((0, length, n_features), np.float32), np.empty((0, length), np.float32)


def _window_count(n: int, length: int, hop: int) -> int:
    """How many windows :func:`cut_windows` cuts from ``n`` bins."""
    if n >= length:
        return 1 + (n - length) // hop
    return int(n > 0 and 2 * n >= length)


def _window_split(
    ids: list[int],
    labels: np.ndarray,
    frames: dict[int, SessionFrames],
    normaliser: Normaliser,
    window_settings: WindowSettings,
    rate_hz: float,
    feature_names: list[str],
    notes: dict[int, list[str]],
) -> WindowSet:
    """Windows of one split, written straight into one preallocated array.

    The split's entries of ``frames`` are removed as they are cut, so that a corpus is
    never held twice (as frames and as windows) in memory.
    """
    length, hop = window_settings.length(rate_hz), window_settings.hop(rate_hz)
    counts = {pid: _window_count(len(frames[pid]), length, hop) for pid in ids if pid in frames}
    total = sum(counts.values())
    x = np.empty((total, length, len(feature_names)), np.float32)  # (N, T, F)
    times = np.empty((total, length), np.float32)  # (N, T)
    y = np.empty(total, np.int64)
    participant_ids = np.empty(total, np.int64)
    start = 0
    for pid, label in zip(ids, labels, strict=True):
        if pid not in counts:
            continue
        session, count = frames.pop(pid), counts[pid]
        if count == 0:
            notes[pid].append(
                f"no window: {len(session)} bins kept, a window needs {length} "
                f"(at least {(length + 1) // 2} with padding)"
            )
            continue
        stop = start + count
        x[start:stop], times[start:stop] = cut_windows(session.times, session.values, length, hop)
        y[start:stop], participant_ids[start:stop] = label, pid
        start = stop
    normaliser.transform(x, copy=False)
    return WindowSet(x, y, participant_ids, times, list(feature_names))


def _extract_all(
    corpus: Corpus,
    ids: list[int],
    settings: FeatureSettings,
    cache: FrameCache | None,
    notes: dict[int, list[str]],
    progress: Callable[[int, int], None] | None,
) -> dict[int, SessionFrames]:
    """Frames of every participant in ``ids`` (skipping and noting failures)."""
    frames: dict[int, SessionFrames] = {}
    todo = ids
    if cache is not None:
        try:
            bundle = cache.load_bundle(corpus, ids, settings)
        except DataError:  # a session without files: the per-session path reports it
            bundle = None
        if bundle is not None:
            frames, todo = bundle
            cache.hits += len(frames)

    def one(pid: int) -> SessionFrames | DataError:
        try:
            if cache is None:
                return extract_session(corpus, pid, settings)
            return cache.get(corpus, pid, settings, extract=extract_session)
        except DataError as error:
            return error

    done = len(frames)
    # Parsing (pyarrow) and the numpy work release the GIL, so sessions overlap in threads;
    # each worker holds one session's files in memory.
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, os.cpu_count() or 1)) as pool:
        for pid, result in zip(todo, pool.map(one, todo), strict=True):
            if isinstance(result, DataError):
                notes[pid].append(f"skipped: {result}")
            else:
                frames[pid] = result
            done += 1
            if progress is not None:
                progress(done, len(ids))
    if cache is not None and len(frames) > len(ids) - len(todo):  # something new was read
        with contextlib.suppress(DataError):
            cache.save_bundle(corpus, ids, settings, {p: frames[p] for p in ids if p in frames})
    if progress is not None and not todo:
        progress(len(ids), len(ids))
    return frames


def load_windows(
    corpus: Corpus,
    settings: FeatureSettings,
    window_settings: WindowSettings | None = None,
    splits: Sequence[str] = formats.SPLITS,
    cache: bool | FrameCache | None = True,
    progress: Callable[[int, int], None] | None = None,
    normaliser: Normaliser | None = None,
) -> tuple[dict[str, WindowSet], Normaliser, dict[int, list[str]]]:
    """Normalised windows of every labelled participant with the modality, per split.

    Parameters
    ----------
    corpus : Corpus
        The corpus.
    settings : FeatureSettings
        What to extract.
    window_settings : WindowSettings, optional
        Window length and overlap; default ``WindowSettings()``.
    splits : sequence of str, default ("train", "dev", "test")
        Splits to return. Training participants are also read when a normaliser has
        to be fitted on them.
    cache : bool or FrameCache or None, default True
        True: the default :class:`~core.data.cache.FrameCache`; a cache object: that
        one; False or None: extract everything afresh.
    progress : callable, optional
        Called as ``progress(done, total)`` after each participant is read.
    normaliser : Normaliser, optional
        A fitted normaliser (a saved run's) to apply instead of fitting a new one.

    Returns
    -------
    windows : dict
        Split name to :class:`WindowSet`.
    normaliser : Normaliser
        Fitted on the training participants' kept bins (or the one given).
    notes : dict
        Participant ID to notes (skipped for a data error, gate fallback, too short, ...);
        only participants with something to say are listed.

    Raises
    ------
    ValueError
        An unknown split; no training participant has usable frames (when fitting);
        a given normaliser whose features differ from the extracted ones.
    """
    window_settings = window_settings or WindowSettings()
    splits = list(dict.fromkeys(splits))
    unknown = sorted(set(splits) - set(formats.SPLITS))
    if unknown:
        raise ValueError(f"unknown split(s) {unknown}; choose from {formats.SPLITS}")
    if cache is True:
        cache = FrameCache()
    cache = cache or None
    wanted = list(dict.fromkeys(["train", *splits] if normaliser is None else splits))
    ids = {s: corpus.ids(s, settings.modality, labelled=True) for s in wanted}
    every = [pid for s in wanted for pid in ids[s]]
    notes: dict[int, list[str]] = {pid: [] for pid in every}
    frames = _extract_all(corpus, every, settings, cache, notes, progress)
    for pid, f in frames.items():
        notes[pid][:0] = f.notes
    if normaliser is None:
        train = [frames[p] for p in ids["train"] if p in frames and len(frames[p])]
        if not train:
            raise ValueError(
                f"no training participant has usable {settings.modality} frames; "
                "see the notes of `python -m core.data check`"
            )
        feature_names = list(train[0].feature_names)
        normaliser = Normaliser().fit([f.values for f in train], feature_names)
    else:
        feature_names = next((list(f.feature_names) for f in frames.values()), [])
        expected = normaliser.feature_names_in_
        mismatch = normaliser.n_features_in_ != len(feature_names) or (
            expected is not None and list(expected) != feature_names
        )
        if frames and mismatch:
            raise ValueError(
                f"the normaliser was fitted on {normaliser.n_features_in_} features "
                "but these settings give "
                f"{len(feature_names)}: use the run's own feature settings"
            )
        feature_names = feature_names or list(expected or [])
    windows = {
        split: _window_split(
            ids[split],
            corpus.labels(ids[split]),
            frames,
            normaliser,
            window_settings,
            settings.rate_hz,
            feature_names,
            notes,
        )
        for split in splits
    }
    return windows, normaliser, {pid: n for pid, n in notes.items() if n}
