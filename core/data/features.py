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
:func:`load_windows` does all of it for a corpus, reading frames through a
:class:`~core.data.store.FrameStore` (which owns the cache policy).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from core.data import formats
from core.data.cache import FrameCache
from core.data.corpus import Corpus
from core.data.frames import (
    DEFAULT_RATE_HZ,
    FACE_KINDS,
    FeatureSettings,
    SessionFrames,
    extract_session,
)
from core.data.normaliser import Normaliser
from core.data.store import FrameStore

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


def cut_windows(
    times: np.ndarray,
    values: np.ndarray,
    length: int,
    hop: int,
    out: tuple[np.ndarray, np.ndarray] | None = None,
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
    out : tuple of numpy.ndarray, optional
        Float32 arrays of shapes ``(W, length, F)`` and ``(W, length)`` to write the
        windows into (slices of a whole split's arrays), instead of new ones.

    Returns
    -------
    windows : numpy.ndarray
        Shape ``(W, length, F)``, float32 (``W`` may be 0).
    window_times : numpy.ndarray
        Shape ``(W, length)``, float32.
    """
    n, n_features = values.shape
    count = _window_count(n, length, hop)
    if out is None:
        out = (
            np.empty((count, length, n_features), np.float32),
            np.empty((count, length), np.float32),
        )
    windows, window_times = out  # (W, L, F), (W, L)
    if n >= length:
        steps = (np.arange(count) * hop)[:, None] + np.arange(length)  # (W, L)
        np.take(np.asarray(values, np.float32), steps, axis=0, out=windows)
        np.take(np.asarray(times, np.float32), steps, axis=0, out=window_times)
    elif count:  # one window, padded with NaN
        windows[0].fill(np.nan)
        window_times[0].fill(np.nan)
        windows[0, :n] = values
        window_times[0, :n] = times
    return windows, window_times


def _window_count(n: int, length: int, hop: int) -> int:
    """How many windows :func:`cut_windows` cuts from ``n`` bins."""
    if n >= length:
        return 1 + (n - length) // hop
    return int(n > 0 and 2 * n >= length)


def _window_split(
    sessions: list[tuple[int, int, SessionFrames]],
    normaliser: Normaliser,
    length: int,
    hop: int,
    feature_names: list[str],
) -> tuple[WindowSet, dict[int, str]]:
    """Windows of one split's ``(pid, label, frames)``, in one preallocated array.

    Returns the windows and a note for each participant too short for a window.
    """
    counts = [_window_count(len(frames), length, hop) for _, _, frames in sessions]
    total = sum(counts)
    x = np.empty((total, length, len(feature_names)), np.float32)  # (N, T, F)
    times = np.empty((total, length), np.float32)  # (N, T)
    y = np.empty(total, np.int64)
    participant_ids = np.empty(total, np.int64)
    short: dict[int, str] = {}
    start = 0
    for (pid, label, session), count in zip(sessions, counts, strict=True):
        if count == 0:
            short[pid] = (
                f"no window: {len(session)} bins kept, a window needs {length} "
                f"(at least {(length + 1) // 2} with padding)"
            )
            continue
        stop = start + count
        # normalised before cutting: windows overlap, so this transforms each bin once
        values = normaliser.transform(session.values)  # (n, F) a copy: frames stay as read
        cut_windows(session.times, values, length, hop, out=(x[start:stop], times[start:stop]))
        if len(session) < length:  # one window padded with NaN: padding reads as the mean
            np.copyto(x[start:stop], 0.0, where=np.isnan(x[start:stop]))
        y[start:stop], participant_ids[start:stop] = label, pid
        start = stop
    return WindowSet(x, y, participant_ids, times, list(feature_names)), short


def _fit_or_check(
    frames: dict[int, SessionFrames],
    train_ids: list[int],
    what: str,
    normaliser: Normaliser | None,
) -> tuple[Normaliser, list[str]]:
    """A normaliser fitted on the training frames, or the given one checked against them."""
    if normaliser is None:
        train = [frames[p] for p in train_ids if p in frames and len(frames[p])]
        if not train:
            raise ValueError(
                f"no training participant has usable {what} frames; "
                "see the notes of `python -m core.data check`"
            )
        feature_names = list(train[0].feature_names)
        return Normaliser().fit([f.values for f in train], feature_names), feature_names
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
    return normaliser, feature_names or list(expected or [])


def load_windows(
    corpus: Corpus,
    settings: FeatureSettings,
    window_settings: WindowSettings | None = None,
    splits: Sequence[str] = formats.SPLITS,
    cache: bool | FrameCache | None = True,
    progress: Callable[[int, int], None] | None = None,
    normaliser: Normaliser | None = None,
) -> tuple[dict[str, WindowSet], Normaliser, dict[int, list[str]]]:
    """Normalised windows of every labelled participant with the feature sets, per split.

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
    store = FrameStore(corpus, settings, FrameCache() if cache is True else cache or None)
    wanted = list(dict.fromkeys(["train", *splits] if normaliser is None else splits))
    ids = {
        s: [pid for pid in corpus.ids(s, labelled=True) if settings.readable(corpus, pid)]
        for s in wanted
    }
    read = store.read([pid for s in wanted for pid in ids[s]], progress)
    notes = {pid: list(f.notes) for pid, f in read.frames.items()}
    notes.update({pid: [f"skipped: {reason}"] for pid, reason in read.failures.items()})
    normaliser, feature_names = _fit_or_check(
        read.frames, ids.get("train", []), "+".join(settings.feature_sets), normaliser
    )
    length = window_settings.length(settings.rate)
    hop = window_settings.hop(settings.rate)
    sessions = {
        split: [
            (pid, int(label), read.frames[pid])
            for pid, label in zip(ids[split], corpus.labels(ids[split]), strict=True)
            if pid in read.frames
        ]
        for split in splits
    }
    read.frames.clear()  # each split's frames go as it is cut: never held twice in memory

    def cut(split: str) -> tuple[WindowSet, dict[int, str]]:
        return _window_split(sessions.pop(split), normaliser, length, hop, feature_names)

    # the splits are cut side by side: numpy copies without the GIL, so on a full-size
    # corpus the windows are ready in about the train split's time instead of the sum
    with ThreadPoolExecutor(max_workers=min(2, len(splits)) or 1) as pool:
        cuts = dict(zip(splits, pool.map(cut, splits), strict=True))
    windows = {}
    for split in splits:
        windows[split], short = cuts[split]
        for pid, note in short.items():
            notes[pid].append(note)
    return windows, normaliser, {pid: n for pid, n in notes.items() if n}
