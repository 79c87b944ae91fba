"""Per-session feature frames: one session's signals resampled to a fixed rate and gated.

This is the extraction every audio and face model trains on. Each choice below is
deliberate, because each changes what a model can learn:

COVAREP (``feature_sets=("covarep",)``, optionally with ``"formant"``)
    COVAREP (74 columns, 100 Hz; row ``r`` is at ``r / 100`` s), optionally followed by
    the 5 FORMANT columns (rows aligned by index; the shorter file sets the length).

    - *Scrubbed audio*: COVAREP rows that are all zero are anonymised stretches, not
      silence; they are dropped before anything else.
    - *Unvoiced frames* (``VUV = 0``): F0 and the glottal columns
      (:data:`~core.data.formats.COVAREP_GLOTTAL`) mean nothing there, so they are set
      to NaN and each bin averages the *voiced* frames only; a bin without a voiced frame
      keeps NaN, which the normaliser turns into 0 (the training mean). ``VUV`` itself is
      kept, so its bin mean is the bin's voiced fraction.
    - FORMANT rows that are all zero are treated as missing (NaN), not as 0 Hz.
    - *Unusable frames*: a frame with a non-finite, unreadable or implausible cell
      (:mod:`core.data.validity`) is dropped like a scrubbed one and counted in the notes.

CLNF (``feature_sets`` from ``("aus", "pose", "gaze", "landmarks")``)
    The chosen CLNF kinds (``aus``, ``pose``, ``gaze``, ``landmarks``, in that order),
    joined on their frame timestamps (frames missing from any chosen file are dropped).

    - Frames with ``success = 0`` (no face found) are dropped, and so are frames with a
      non-finite, unreadable or implausible cell (:mod:`core.data.validity`).
    - 2-D landmarks are made translation- and scale-invariant per frame: the 68 points
      are centred on their mean and divided by the *inter-ocular distance*, the distance
      between the centres of the two eyes (points 36-41 and 42-47), so head position and
      distance to the camera do not dominate.

Resampling
    A frame at ``t`` seconds falls in bin ``floor(t * rate_hz + 1e-9)`` (the epsilon
    absorbs timestamps written to the millisecond); each bin holds the mean of its
    frames per column, ignoring NaN, and is stamped with its centre
    ``(bin + 0.5) / rate_hz``. Bins with no frame are dropped, so kept bins need not be
    contiguous. This is vectorised (no Python loop over frames): the sums are a sparse
    0/1 bin-membership matrix times the frames, which adds each bin's frames in order
    in float64, like ``np.add.reduceat`` but about four times faster.

Gate
    ``gate="participant"`` (default) keeps the bins whose centre lies inside a
    Participant turn of the transcript (with the known sync offsets applied by
    :meth:`~core.data.corpus.Corpus.transcript`), so models hear and see the
    participant while they speak, never Ellie. ``gate="all"`` keeps every bin. A session
    without a transcript file falls back to ``"all"`` and says so in its notes; a
    transcript that exists but cannot be read raises :class:`~core.data.errors.DataError`
    (the participant is skipped, not silently ungated). Known interruptions
    (:func:`~core.data.known_defects.interruption`) are always removed. The rule lives in
    :mod:`core.data.gate`, which also lets the audio reader parse only the COVAREP rows
    of kept bins (the output is the same as parsing everything and then gating).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import sparse

from core.data import formats, validity
from core.data.corpus import Corpus
from core.data.gate import BIN_EPS, KeepBins, bin_filter, read_gated_rows

COVAREP_SETS: tuple[str, ...] = ("covarep", "formant")
FACE_KINDS: tuple[str, ...] = ("aus", "pose", "gaze", "landmarks")
FAMILIES: dict[str, tuple[str, ...]] = {"covarep": COVAREP_SETS, "clnf": FACE_KINDS}
"""Feature sets read together, by family: COVAREP (FORMANT appended to it, rows aligned
by index) or CLNF files (joined on their timestamps). One extraction reads one family."""
FEATURE_SETS: tuple[str, ...] = (*COVAREP_SETS, *FACE_KINDS)
PRESENCE_FILES: dict[str, tuple[str, ...]] = {"covarep": ("covarep",), "clnf": FACE_KINDS}
"""Per family, the session files of which one must exist for a session to be read."""
GATES: tuple[str, ...] = ("participant", "all")
DEFAULT_RATE_HZ: dict[str, float] = {"covarep": 10.0, "clnf": 5.0}
"""Bins per second by family, when the settings name no rate."""

_COLUMNS: dict[str, tuple[str, ...]] = {
    "covarep": formats.COVAREP_COLUMNS,
    "formant": formats.FORMANT_COLUMNS,
    **{kind: formats.CLNF_FILES[kind][1] for kind in FACE_KINDS},
}
_GLOTTAL = np.array([formats.COVAREP_COLUMNS.index(c) for c in formats.COVAREP_GLOTTAL])
_VUV = formats.COVAREP_COLUMNS.index("VUV")
_LEFT_EYE, _RIGHT_EYE = slice(36, 42), slice(42, 48)


@dataclass(frozen=True)
class FeatureSettings:
    """What to extract from each session: feature sets, never a modality.

    Parameters
    ----------
    feature_sets : tuple of str, default ("covarep",)
        Which files, from one family of :data:`FAMILIES`: ``"covarep"`` (optionally
        with ``"formant"``, whose five columns follow COVAREP's), or one or more CLNF
        groups ``("aus", "pose", "gaze", "landmarks")``. Stored in that canonical order.
    rate_hz : float, optional
        Bins per second after resampling; default :data:`DEFAULT_RATE_HZ` of the family.
    gate : {"participant", "all"}, default "participant"
        Keep only bins inside the participant's turns, or the whole session.
    columns : tuple of str, optional
        Keep only these columns of the feature sets, in this order (all by default).

    Raises
    ------
    ValueError
        An unknown or empty feature set, sets of two families, FORMANT without COVAREP,
        an unknown column or gate, or a rate that is not positive.
    """

    feature_sets: tuple[str, ...] = ("covarep",)
    rate_hz: float | None = None
    gate: str = "participant"
    columns: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        sets = tuple(self.feature_sets)
        unknown = sorted(set(sets) - set(FEATURE_SETS))
        if unknown:
            raise ValueError(f"feature sets: unknown {unknown}; choose from {FEATURE_SETS}")
        families = [f for f, members in FAMILIES.items() if set(sets) & set(members)]
        if len(families) != 1:
            raise ValueError(
                f"feature_sets={sets!r}: choose at least one set, all of one family: "
                + "; ".join(f"{', '.join(members)}" for members in FAMILIES.values())
            )
        if families[0] == "covarep" and "covarep" not in sets:
            raise ValueError("the formant feature set is read beside covarep: add covarep")
        if self.gate not in GATES:
            raise ValueError(f"gate={self.gate!r}: choose one of {GATES}")
        rate = DEFAULT_RATE_HZ[families[0]] if self.rate_hz is None else float(self.rate_hz)
        if not np.isfinite(rate) or rate <= 0:
            raise ValueError(f"rate_hz={self.rate_hz!r}: must be a positive number")
        canonical = tuple(k for k in FAMILIES[families[0]] if k in sets)
        if self.columns is not None:
            known = [c for k in canonical for c in _COLUMNS[k]]
            missing = [c for c in self.columns if c not in known]
            if missing or not self.columns:
                raise ValueError(f"columns: {missing or 'none'} not in {', '.join(canonical)}")
            object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "feature_sets", canonical)
        object.__setattr__(self, "rate_hz", rate)

    @property
    def family(self) -> str:
        """The family of :data:`FAMILIES` the feature sets belong to."""
        return next(f for f, members in FAMILIES.items() if self.feature_sets[0] in members)

    def as_dict(self) -> dict:
        """The settings as plain JSON-ready values."""
        out = asdict(self)
        out["feature_sets"] = list(self.feature_sets)
        out["columns"] = None if self.columns is None else list(self.columns)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSettings:
        """Rebuild settings saved by :meth:`as_dict`."""
        data = dict(data)
        data["feature_sets"] = tuple(data.get("feature_sets", ()))
        if data.get("columns") is not None:
            data["columns"] = tuple(data["columns"])
        return cls(**data)

    @property
    def rate(self) -> float:
        """Bins per second (``rate_hz``, filled in from the family's default when not given)."""
        assert self.rate_hz is not None  # set by __post_init__
        return self.rate_hz

    def relevant(self) -> dict:
        """The settings that change the frames (the cache key)."""
        out = {"feature_sets": list(self.feature_sets), "rate_hz": self.rate_hz, "gate": self.gate}
        if self.columns is not None:
            out["columns"] = list(self.columns)
        return out

    def file_kinds(self) -> tuple[str, ...]:
        """Session file kinds the extraction reads (the transcript only when gated)."""
        kinds = self.feature_sets
        return (*kinds, "transcript") if self.gate == "participant" else kinds

    def readable(self, corpus: Corpus, pid: int) -> bool:
        """Whether the session has a file of the family (:data:`PRESENCE_FILES`) to read."""
        source = corpus.participants[pid].source
        return source is not None and any(source.has(kind) for kind in PRESENCE_FILES[self.family])


@dataclass
class SessionFrames:
    """One session's resampled, gated frames.

    Attributes
    ----------
    times : numpy.ndarray
        Bin centres in session seconds, shape ``(n,)``, float32, increasing.
    values : numpy.ndarray
        Bin means, shape ``(n, F)``, float32; NaN where a bin had no valid value
        (for example F0 in a bin without voiced frames).
    feature_names : list of str
        The ``F`` column names.
    notes : list of str
        What was noticed or decided for this session (e.g. the gate fell back to
        ``"all"``), for the user.
    """

    times: np.ndarray
    values: np.ndarray
    feature_names: list[str]
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.times)


# --- Resampling and gating ---------------------------------------------------------------


def bin_means(
    times: np.ndarray, values: np.ndarray, rate_hz: float
) -> tuple[np.ndarray, np.ndarray]:
    """Average frames into ``1 / rate_hz`` bins, ignoring NaN.

    Parameters
    ----------
    times : numpy.ndarray
        Frame times in seconds, shape ``(n,)``, non-decreasing.
    values : numpy.ndarray
        Frame values, shape ``(n, F)``, float32. **Modified in place** (NaN -> 0).
    rate_hz : float
        Bins per second.

    Returns
    -------
    centres : numpy.ndarray
        Centres of the non-empty bins, shape ``(m,)``, float64.
    means : numpy.ndarray
        Per-bin NaN-ignoring means, shape ``(m, F)``, float32 (NaN where a column had
        no finite value in the bin).
    """
    n_features = values.shape[1]
    if len(times) == 0:
        return np.empty(0), np.empty((0, n_features), np.float32)
    bins = np.floor(np.asarray(times, np.float64) * rate_hz + BIN_EPS).astype(np.int64)
    starts = np.flatnonzero(np.diff(bins, prepend=bins[0] - 1))  # first frame of each bin
    missing = np.isnan(values)  # (n, F)
    gappy = np.flatnonzero(missing.any(axis=0))  # columns that hold NaN somewhere
    counts = np.diff(np.append(starts, len(bins)))[:, None].astype(np.float64)  # (m, 1)
    counts = np.repeat(counts, n_features, axis=1)  # (m, F) frames per bin
    if len(gappy):
        np.copyto(values, 0.0, where=missing)
        counts[:, gappy] = np.add.reduceat(~missing[:, gappy], starts, axis=0, dtype=np.int32)
    sums = _bin_sums(values, starts)  # (m, F) float64
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (sums / counts).astype(np.float32)  # 0 / 0 -> NaN
    centres = (bins[starts] + 0.5) / rate_hz  # (m,) float64
    return centres, means


def _bin_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sums of the runs of rows beginning at ``starts``, ``(m, F)`` float64.

    What ``np.add.reduceat(values, starts, axis=0, dtype=np.float64)`` computes, as a
    product with a sparse ``(m, n)`` matrix whose row ``i`` holds a 1 for each row of
    bin ``i``: 4 ms instead of 20 ms for a session's 51 000 frames of 74 columns. Each
    bin's rows are added one after another, where ``reduceat`` adds blocks of eight in
    pairs, so a float64 sum may differ in its last bits; on 4.7 million bin means of
    full-length sessions the float32 results were identical (``tests/data/test_features.py``).
    """
    n, m = len(values), len(starts)
    bounds = np.append(starts, n)  # (m + 1,) bin i holds rows bounds[i]:bounds[i + 1]
    member = sparse.csr_array((np.ones(n), np.arange(n), bounds), shape=(m, n))
    return member @ values.astype(np.float64)  # (m, n) @ (n, F) -> (m, F)


def _audio_frames(
    corpus: Corpus,
    pid: int,
    settings: FeatureSettings,
    notes: list[str],
    wanted: KeepBins | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Times ``(n,)`` and values ``(n, F)`` of the session's audio frames at 100 Hz."""
    rows, covarep, total = read_gated_rows(corpus, pid, "covarep", wanted, settings.rate)
    names = list(formats.COVAREP_COLUMNS)
    if "formant" in settings.feature_sets:
        formant = corpus.formant(pid)  # (n2, 5), small: read whole
        if len(formant) != total:
            notes.append(
                f"COVAREP has {total} rows but FORMANT {len(formant)}; the shorter length is used"
            )
        inside_both = rows < len(formant)
        rows, covarep = rows[inside_both], covarep[inside_both]
        formant = formant[rows]  # (n, 5)
        covarep = np.concatenate([covarep, formant], axis=1)  # (n, 79)
        names += list(formats.FORMANT_COLUMNS)
    unusable = validity.bad_rows(covarep, names, validity.covarep_ignored(covarep))  # (n,)
    if unusable.any():
        notes.append(
            f"{int(unusable.sum())} audio frame(s) with a non-finite or implausible value "
            "left out (see `python -m core.data check`)"
        )
    keep = covarep[:, :74].any(axis=1) & ~unusable  # all-zero rows are scrubbed audio
    if not keep.all():
        rows, covarep = rows[keep], covarep[keep]
    if "formant" in settings.feature_sets:
        formant = covarep[:, 74:]  # (n, 5) view
        formant[~formant.any(axis=1)] = np.nan  # zero rows are missing, not 0 Hz
    unvoiced = covarep[:, _VUV] < 0.5  # (n,)
    covarep[np.ix_(unvoiced, _GLOTTAL)] = np.nan
    return rows / formats.COVAREP_RATE_HZ, covarep, names


def _face_frames(
    corpus: Corpus, pid: int, settings: FeatureSettings, notes: list[str]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Times ``(n,)`` and values ``(n, F)`` of the session's face frames (success only)."""
    tables = [corpus.clnf(pid, kind) for kind in settings.feature_sets]
    first = tables[0]
    same = all(
        len(t.timestamp) == len(first.timestamp) and np.array_equal(t.timestamp, first.timestamp)
        for t in tables[1:]
    )
    if same:
        rows: list[slice | np.ndarray] = [slice(None)] * len(tables)
        timestamp = first.timestamp
    else:  # join on timestamps (to the millisecond), keeping frames present in every file
        keys = [np.round(t.timestamp * 1000).astype(np.int64) for t in tables]
        common = keys[0]
        for key in keys[1:]:
            common = np.intersect1d(common, key)
        rows = [
            np.searchsorted(key, common) if _sorted(key) else _positions(key, common)
            for key in keys
        ]
        timestamp = common / 1000.0
        longest = max(len(k) for k in keys)
        notes.append(
            f"CLNF files disagree on frames; {len(common)} of {longest} frames are in all "
            f"of {', '.join(settings.feature_sets)}"
        )
    success = np.logical_and.reduce([t.success[r] for t, r in zip(tables, rows, strict=True)])
    usable = np.logical_and.reduce(
        [~validity.bad_rows(t.values[r], t.columns) for t, r in zip(tables, rows, strict=True)]
    )
    usable &= np.isfinite(np.asarray(timestamp, np.float64))
    if (success & ~usable).any():
        notes.append(
            f"{int((success & ~usable).sum())} face frame(s) with a non-finite or implausible "
            "value left out (see `python -m core.data check`)"
        )
    keep = np.flatnonzero(success & usable)
    blocks = []
    for table, row in zip(tables, rows, strict=True):
        block = table.values[row][keep]  # (n, k)
        if table.kind == "landmarks":
            block = _normalise_landmarks(block)
        blocks.append(block)
    values = np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]  # (n, F)
    times = np.asarray(timestamp, np.float64)[keep]
    if not _sorted(times):
        order = np.argsort(times, kind="stable")
        times, values = times[order], values[order]
    names = [c for t in tables for c in t.columns]
    return times, np.ascontiguousarray(values, dtype=np.float32), names


def _sorted(x: np.ndarray) -> bool:
    return bool(np.all(x[1:] >= x[:-1]))


def _positions(key: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index in ``key`` (unsorted) of each value of ``wanted`` (all present)."""
    order = np.argsort(key, kind="stable")
    return order[np.searchsorted(key[order], wanted)]


def _normalise_landmarks(block: np.ndarray) -> np.ndarray:
    """Centre 2-D landmarks on their mean and divide by the inter-ocular distance.

    ``block`` is ``(n, 136)``: ``x0..x67`` then ``y0..y67``. Frames whose eyes coincide
    (a degenerate fit) become NaN.
    """
    points = block.reshape(len(block), 2, 68).transpose(0, 2, 1)  # (n, 68, 2)
    centred = points - points.mean(axis=1, keepdims=True)  # (n, 68, 2)
    eyes = points[:, _LEFT_EYE].mean(axis=1) - points[:, _RIGHT_EYE].mean(axis=1)  # (n, 2)
    distance = np.hypot(eyes[:, 0], eyes[:, 1])  # (n,)
    distance[distance < 1e-6] = np.nan
    scaled = centred / distance[:, None, None]  # (n, 68, 2)
    return scaled.transpose(0, 2, 1).reshape(len(block), 136).astype(np.float32)


def extract_session(corpus: Corpus, pid: int, settings: FeatureSettings) -> SessionFrames:
    """Read, resample and gate one session's frames (see the module docstring).

    Parameters
    ----------
    corpus : Corpus
        The corpus.
    pid : int
        Participant ID.
    settings : FeatureSettings
        Modality, rate, feature sets and gate.

    Returns
    -------
    SessionFrames
        Possibly empty (no kept bin), with notes saying why.

    Raises
    ------
    DataError
        A file the extraction needs is missing or unreadable.
    """
    notes: list[str] = []
    wanted = bin_filter(corpus, pid, settings.gate, notes)
    if settings.family == "covarep":
        times, values, names = _audio_frames(corpus, pid, settings, notes, wanted)
    else:
        times, values, names = _face_frames(corpus, pid, settings, notes)  # (n,), (n, F)
    if settings.columns is not None:
        chosen = [names.index(c) for c in settings.columns]
        values, names = values[:, chosen], list(settings.columns)  # (n, F) -> (n, C)
    centres, means = bin_means(times, values, settings.rate)  # (m,), (m, F)
    del values
    if wanted is not None:
        keep = wanted(centres)
        centres, means = centres[keep], means[keep]
    if not len(centres):
        where = "in the session" if wanted is None else "inside the participant's turns"
        notes.append(f"no bin left: no usable frame {where}")
    return SessionFrames(centres.astype(np.float32), means, names, notes)
