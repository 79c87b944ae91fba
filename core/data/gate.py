"""The participant-speech gate: which bins of a session are kept, and reading only those.

A bin is kept when its centre lies inside a Participant turn of the transcript (times
shifted by the known sync offset, as :meth:`~core.data.corpus.Corpus.transcript` does)
and outside a known interruption. :func:`read_gated_rows` uses the same rule to parse
only the rows of a 100 Hz file (COVAREP, FORMANT) that fall in kept bins, about half of
a session, which roughly halves the parsing cost of the first extraction.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from core.data import formats, known_defects, readers
from core.data.corpus import Corpus
from core.data.errors import DataError

BIN_EPS = 1e-9
"""A frame at ``t`` s falls in bin ``floor(t * rate_hz + BIN_EPS)``."""

KeepBins = Callable[[np.ndarray], np.ndarray]
"""Bin centres ``(m,)`` to a boolean keep mask ``(m,)``."""


def participant_turns(transcript: pd.DataFrame) -> np.ndarray:
    """The spans in which only the participant speaks, shape ``(k, 2)``, sorted, disjoint.

    Participant lines with a negative time or a stop before their start are left out
    (they would place the participant anywhere), and the interviewer's lines are cut out
    of the rest, so that speech during an overlap is never labelled the participant's.
    """
    times = transcript[["start_time", "stop_time"]].to_numpy(np.float64)  # (n, 2)
    is_participant = (transcript["speaker"] == formats.PARTICIPANT).to_numpy()
    is_interviewer = (transcript["speaker"] == formats.INTERVIEWER).to_numpy()
    return gate_spans(times[is_participant], times[is_interviewer])


def usable_turns(spans: np.ndarray) -> np.ndarray:
    """Whether each ``(start, stop)`` row is a usable turn: finite, not negative, in order."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(spans).all(axis=1) & (spans[:, 0] >= 0) & (spans[:, 1] >= spans[:, 0])


def gate_spans(participant: np.ndarray, interviewer: np.ndarray) -> np.ndarray:
    """Merged usable participant spans ``(k, 2)`` minus the interviewer's spans ``(j, 2)``."""
    kept = _merge(participant[usable_turns(participant)])
    ellie = _merge(interviewer[usable_turns(interviewer)])
    if len(ellie) == 0 or len(kept) == 0:
        return kept
    out: list[tuple[float, float]] = []
    for start, stop in kept:  # one step per turn and overlapping interviewer line
        cut = ellie[(ellie[:, 1] > start) & (ellie[:, 0] < stop)]
        for e_start, e_stop in cut:
            if e_start > start:
                out.append((start, float(e_start)))
            start = max(start, float(e_stop))
        if start < stop or not len(cut):
            out.append((start, stop))
    return np.asarray(out, np.float64).reshape(-1, 2)


def _merge(spans: np.ndarray) -> np.ndarray:
    """Sort ``(k, 2)`` spans by start and merge the overlapping ones."""
    spans = spans[np.argsort(spans[:, 0], kind="stable")]
    merged: list[list[float]] = []
    for start, stop in spans:  # one entry per turn, not per frame
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([float(start), float(stop)])
    return np.asarray(merged, np.float64).reshape(-1, 2)


def _quick_spans(data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """Participant and interviewer ``(start, stop)`` rows of a well-formed transcript.

    A plain-Python reading of the few fields the gate needs, about 20x quicker than the
    full reader on small files. Anything unusual (another header, a row without exactly
    four fields, a time that is not a finite number, an unknown speaker) returns None, so
    that :meth:`Corpus.transcript` reads the file and reports the problem itself.
    """
    lines = data.decode("utf-8", "replace").splitlines()
    if not lines:
        return None
    header = [f.strip().lower() for f in lines[0].split("\t")]
    if header != list(formats.TRANSCRIPT_COLUMNS):
        return None
    spans: dict[str, list[tuple[float, float]]] = {"participant": [], "ellie": []}
    for line in lines[1:]:
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != 4 or "_" in fields[0] + fields[1]:
            return None
        try:
            start, stop = float(fields[0]), float(fields[1])
        except ValueError:
            return None
        speaker = fields[2].strip().lower()
        if not (np.isfinite(start) and np.isfinite(stop)) or speaker not in spans:
            return None
        spans[speaker].append((start, stop))
    participant, ellie = (np.asarray(v, np.float64).reshape(-1, 2) for v in spans.values())
    return participant, ellie


def session_turns(corpus: Corpus, pid: int) -> np.ndarray:
    """The participant-only spans of a session, with its known sync offset applied.

    Equal to ``participant_turns(corpus.transcript(pid))``, read faster.

    Raises
    ------
    DataError
        The transcript is missing or cannot be read.
    """
    source = corpus.source(pid)
    spans = _quick_spans(bytes(source.read_view("transcript")))  # hashed: not read again
    if spans is None:
        return participant_turns(corpus.transcript(pid))
    offset = known_defects.transcript_offset(pid)
    return gate_spans(spans[0] + offset, spans[1] + offset)


def inside(times: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Whether each time lies in one of the sorted, disjoint ``spans`` (ends included)."""
    if len(spans) == 0:
        return np.zeros(len(times), dtype=bool)
    index = np.searchsorted(spans[:, 0], times, side="right") - 1  # last span starting <= t
    safe = np.clip(index, 0, None)
    return (index >= 0) & (times <= spans[safe, 1])


# --- Reading one session -----------------------------------------------------------------


def _line_ends(data: bytes | memoryview, block: int = 1 << 22) -> np.ndarray:
    """Offsets one past every line's end, ``(n,)`` int64 (the last may lack a newline).

    Scanned in blocks so that no temporary as large as the file is allocated.
    """
    buf = np.frombuffer(data, np.uint8)
    parts = [np.flatnonzero(buf[i : i + block] == 10) + (i + 1) for i in range(0, len(buf), block)]
    ends = np.concatenate(parts) if parts else np.empty(0, np.int64)
    if len(ends) == 0 or ends[-1] != len(data):
        ends = np.append(ends, len(data))
    return ends


def read_gated_rows(
    corpus: Corpus, pid: int, kind: str, wanted: KeepBins | None, rate_hz: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Parse the rows of a 100 Hz file (COVAREP, FORMANT) whose bins ``wanted`` keeps.

    Returns the row indices ``(k,)``, their values ``(k, C)`` and the file's row count.
    Rows of bins the gate drops are never parsed (about half of a session): the file is
    cut at line boundaries and the kept runs, plus the first line (so that the header
    check still runs), go through the same parser. Anything unexpected (blank lines, a
    parse error) falls back to parsing the whole file, whose errors name the right row.

    The file is read with :meth:`~core.data.sources.SessionSource.read_view`, into the
    caller's reused buffer when it set one; what is parsed is always a copy.
    """
    source = corpus.source(pid)
    data, name = source.read_view(kind), source.display(kind)
    parse = readers.parse_covarep if kind == "covarep" else readers.parse_formant
    ends = _line_ends(data)  # (n,) one past each line's "\n"
    starts = np.concatenate([[0], ends[:-1]])  # (n,) line starts
    n = len(ends)
    if wanted is not None and n > 1:
        bins = np.floor(np.arange(n) / formats.COVAREP_RATE_HZ * rate_hz + BIN_EPS)
        bins = bins.astype(np.int64)  # (n,) same formula as bin_means
        keep = wanted((np.arange(bins[-1] + 1) + 0.5) / rate_hz)[bins]  # (n,)
        keep[0] = True
        if not keep.all():
            edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.view(np.int8), [0]])))
            view = memoryview(data)
            chunks = [view[starts[a] : ends[b - 1]] for a, b in edges.reshape(-1, 2)]
            joined = b"".join([*chunks, b"" if data[-1:] == b"\n" else b"\n"])
            rows = np.flatnonzero(keep)
            del view, chunks, data  # one copy of the kept text in memory, not two
            try:
                values = parse(joined, name)
            except DataError:
                values = None  # parse the whole file below, for an exact message
            if values is not None and len(values) == len(rows):
                return rows, values, n
            data = source.read_bytes(kind)
    values = parse(bytes(data), name)  # no copy when already bytes
    return np.arange(len(values)), values, len(values)


def bin_filter(corpus: Corpus, pid: int, gate: str, notes: list[str]) -> KeepBins | None:
    """Which bin centres the gate and the known interruptions keep (None: all)."""
    turns = None
    if gate == "participant":
        if corpus.source(pid).has("transcript"):
            turns = session_turns(corpus, pid)
        else:
            notes.append(
                "no transcript: the participant-speech gate fell back to 'all' "
                "(the whole session, interviewer turns included)"
            )
    span = known_defects.interruption(pid)
    if turns is None and span is None:
        return None

    def keep(centres: np.ndarray) -> np.ndarray:
        mask = np.ones(len(centres), bool) if turns is None else inside(centres, turns)
        if span is not None:
            mask &= (centres < span[0]) | (centres > span[1])
        return mask

    return keep
