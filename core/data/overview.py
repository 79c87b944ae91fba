"""What the Data page shows, as plain tables and arrays: no UI here.

Corpus-level summaries take :meth:`~core.data.corpus.Corpus.table` (one row per
participant); per-session helpers take what the readers return (a transcript frame, a
COVAREP matrix, a :class:`~core.data.readers.ClnfTable`) and resample it to a few points
per second for plotting. Display tracks sit on a regular time grid with NaN where there is
nothing to show (scrubbed audio, no voiced frame, no face found), so that plotted lines
break there instead of bridging the gap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from core.data import formats
from core.data.frames import bin_means
from core.data.gate import participant_turns
from core.data.readers import ClnfTable

DISPLAY_RATE_HZ = 4.0
"""Points per second of the plotted signals (a 20-minute session gives 4,800 points)."""

NO_SPLIT = "no split"
"""The split name shown for sessions that no label file lists."""

LABEL_NAMES: dict[int, str] = {1: "depressed", 0: "not depressed"}
UNKNOWN = "unknown"
GENDER_NAMES: dict[int, str] = {0: "female", 1: "male"}

_VUV = formats.COVAREP_COLUMNS.index("VUV")
_GLOTTAL = np.array([formats.COVAREP_COLUMNS.index(c) for c in formats.COVAREP_GLOTTAL])


# --- The corpus ------------------------------------------------------------------------


def _split_names(table: pd.DataFrame) -> pd.Series:
    return table["split"].fillna(NO_SPLIT)


def _split_order(names: Iterable[str]) -> list[str]:
    present = set(names)
    return [s for s in (*formats.SPLITS, NO_SPLIT) if s in present]


def label_name(binary: object) -> str:
    """``"depressed"``, ``"not depressed"`` or ``"unknown"`` for a PHQ-8 binary value."""
    return _code_name(LABEL_NAMES, binary)


def gender_name(gender: object) -> str:
    """``"female"``, ``"male"`` or ``"unknown"`` for a DAIC-WOZ gender code."""
    return _code_name(GENDER_NAMES, gender)


def _code_name(names: Mapping[Any, str], code: object) -> str:
    return names.get(code, UNKNOWN) if _is_int(code) else UNKNOWN


def _split_name(split: object) -> str:
    return NO_SPLIT if split is None or pd.isna(split) or not split else str(split)


def _is_int(value: Any) -> bool:  # Any: whatever a table cell holds
    return value is not None and not pd.isna(value) and float(value).is_integer()


def split_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per split: participants, labels, gender and modalities.

    Parameters
    ----------
    table : pandas.DataFrame
        :meth:`Corpus.table() <core.data.corpus.Corpus.table>`.

    Returns
    -------
    pandas.DataFrame
        Columns ``split``, ``participants``, ``labelled``, ``depressed``,
        ``depressed_share`` (of the labelled ones; NaN when none is), ``mean_score``,
        ``female``, ``male``, ``sessions`` (with at least one modality's files) and
        ``text``, ``audio``, ``face`` (how many have that modality). Splits in the
        official order, then ``"no split"`` when some session is in no label file.
    """
    splits = _split_names(table)
    rows = []
    for split in _split_order(splits):
        members = table[splits == split]
        labels = members["phq8_binary"].map(label_name)
        labelled = int((labels != UNKNOWN).sum())
        depressed = int((labels == LABEL_NAMES[1]).sum())
        genders = members["gender"].map(gender_name)
        modalities = members["modalities"].fillna("")
        present = [set(m.split(", ")) for m in modalities]
        row = {
            "split": split,
            "participants": len(members),
            "labelled": labelled,
            "depressed": depressed,
            "depressed_share": depressed / labelled if labelled else np.nan,
            "mean_score": pd.to_numeric(members["phq8_score"], errors="coerce").mean(),
            "female": int((genders == "female").sum()),
            "male": int((genders == "male").sum()),
            "sessions": int((modalities != "").sum()),
        }
        for modality in formats.MODALITY_FILES:
            row[modality] = sum(modality in m for m in present)
        rows.append(row)
    columns = ["split", "participants", "labelled", "depressed", "depressed_share"]
    columns += ["mean_score", "female", "male", "sessions", *formats.MODALITY_FILES]
    return pd.DataFrame(rows, columns=columns)


def readable_participants(table: pd.DataFrame) -> pd.DataFrame:
    """The participant table as people read it: words for gender and label, no codes.

    Parameters
    ----------
    table : pandas.DataFrame
        :meth:`core.data.Corpus.table`.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``split``, ``label`` (``"depressed"``, ``"not depressed"`` or
        ``"unknown"``), ``phq8_score``, ``gender`` (``"female"``, ``"male"`` or
        ``"unknown"``), ``modalities`` and ``n_problems``.
    """
    frame = table.drop(columns=["problems"], errors="ignore").copy()
    frame["label"] = frame.pop("phq8_binary").map(label_name)
    frame["gender"] = frame["gender"].map(gender_name)
    columns = ["id", "split", "label", "phq8_score", "gender", "modalities", "n_problems"]
    return frame[[c for c in columns if c in frame.columns]]


def score_histogram(table: pd.DataFrame) -> pd.DataFrame:
    """Participants per split, PHQ-8 score and binary label (scored participants only).

    Returns
    -------
    pandas.DataFrame
        Columns ``split``, ``score`` (int), ``label`` (``"depressed"``, ``"not
        depressed"`` or ``"unknown"`` where a score has no binary label) and ``count``;
        only combinations that occur. The label is the file's PHQ8_Binary, not the score
        cut-off, so a contradiction (score 10, binary 0) shows as it is.
    """
    scores = pd.to_numeric(table["phq8_score"], errors="coerce")
    scored = table[scores.notna()]
    frame = pd.DataFrame(
        {
            "split": _split_names(scored).to_numpy(),
            "score": scores[scores.notna()].astype(int).to_numpy(),
            "label": scored["phq8_binary"].map(label_name).to_numpy(),
        }
    )
    counts = frame.groupby(["split", "score", "label"]).size().rename("count").reset_index()
    order = {s: i for i, s in enumerate(_split_order(counts["split"]))}
    counts = counts.sort_values(["split", "score", "label"], key=_order_key(order))
    return counts.reset_index(drop=True)


def _order_key(split_order: Mapping[str, int]) -> Callable[[pd.Series], pd.Series]:
    def key(column: pd.Series) -> pd.Series:
        return column.map(split_order) if column.name == "split" else column

    return key


def gender_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Participants per split and gender: columns ``split``, ``gender``, ``count``."""
    frame = pd.DataFrame({"split": _split_names(table), "gender": table["gender"].map(gender_name)})
    counts = frame.groupby(["split", "gender"]).size().rename("count").reset_index()
    order = {s: i for i, s in enumerate(_split_order(counts["split"]))}
    counts = counts.sort_values(["split", "gender"], key=_order_key(order))
    return counts.reset_index(drop=True)


def participant_label(participant: Mapping) -> str:
    """A one-line description for choosing a participant: ``"902 · train · depressed (14)"``.

    Parameters
    ----------
    participant : mapping
        A row of :meth:`Corpus.table() <core.data.corpus.Corpus.table>` (or
        :meth:`Participant.as_dict() <core.data.corpus.Participant.as_dict>`).
    """
    parts = [str(int(participant["id"])), _split_name(participant.get("split"))]
    label = label_name(participant.get("phq8_binary"))
    score: Any = participant.get("phq8_score")  # a table cell: a number, NaN or None
    parts.append(f"{label} (PHQ-8 {int(score)})" if _is_int(score) else label)
    if not participant.get("modalities"):
        parts.append("no session files")
    return " · ".join(parts)


def problem_rows(corpus_problems: Iterable[str], participants: Iterable[Mapping]) -> pd.DataFrame:
    """One row per problem: corpus-level ones first, then each participant's.

    Parameters
    ----------
    corpus_problems : iterable of str
        :attr:`Corpus.problems <core.data.corpus.Corpus>` or a check report's
        ``problems``.
    participants : iterable of mapping
        Rows with ``id``, ``split`` and ``problems`` (a list of str): the records of
        :meth:`Corpus.table` or a check report's ``participants``.

    Returns
    -------
    pandas.DataFrame
        Columns ``participant`` (``"corpus"`` or the ID), ``split`` and ``problem``.
    """
    rows = [{"participant": "corpus", "split": "", "problem": p} for p in corpus_problems]
    for entry in participants:
        split = _split_name(entry.get("split"))
        rows += [
            {"participant": str(int(entry["id"])), "split": split, "problem": p}
            for p in entry.get("problems") or []
        ]
    return pd.DataFrame(rows, columns=["participant", "split", "problem"])


# --- One session: transcript -------------------------------------------------------------


def transcript_view(transcript: pd.DataFrame) -> pd.DataFrame:
    """The transcript as shown: ``start``, ``stop`` (s), ``speaker``, ``text``, ``used``.

    ``used`` is True on the participant's lines, the only ones the models read by default.
    """
    return pd.DataFrame(
        {
            "start": transcript["start_time"].to_numpy(np.float64),
            "stop": transcript["stop_time"].to_numpy(np.float64),
            "speaker": transcript["speaker"].to_numpy(),
            "text": transcript["value"].to_numpy(),
            "used": (transcript["speaker"] == formats.PARTICIPANT).to_numpy(),
        }
    )


def turn_spans(transcript: pd.DataFrame) -> np.ndarray:
    """Merged ``(start, stop)`` seconds of the participant's turns, shape ``(k, 2)``."""
    return participant_turns(transcript)


def speaking_summary(transcript: pd.DataFrame) -> dict[str, float]:
    """Who spoke how much: line counts, seconds and words per speaker.

    Returns
    -------
    dict
        ``participant_lines``, ``interviewer_lines``, ``participant_seconds`` (merged
        turns, so overlapping lines count once), ``interviewer_seconds``,
        ``participant_words`` and ``session_seconds`` (the last line's end).
    """
    is_participant = (transcript["speaker"] == formats.PARTICIPANT).to_numpy()
    durations = (transcript["stop_time"] - transcript["start_time"]).clip(lower=0).to_numpy()
    spans = turn_spans(transcript)
    words = transcript.loc[is_participant, "value"].str.split().str.len().sum()
    stop = transcript["stop_time"]
    return {
        "participant_lines": int(is_participant.sum()),
        "interviewer_lines": int((~is_participant).sum()),
        "participant_seconds": float((spans[:, 1] - spans[:, 0]).sum()),
        "interviewer_seconds": float(durations[~is_participant].sum()),
        "participant_words": int(words),
        "session_seconds": float(stop.max()) if len(stop) else 0.0,
    }


# --- One session: signals ----------------------------------------------------------------


def _on_grid(
    centres: np.ndarray, means: np.ndarray, rate_hz: float, columns: Iterable[str]
) -> pd.DataFrame:
    """Bin means ``(m, F)`` placed on the full grid of bins, NaN in empty bins."""
    columns = list(columns)
    if len(centres) == 0:
        return pd.DataFrame(columns=["time", *columns], dtype=np.float64)
    index = np.round(centres * rate_hz - 0.5).astype(np.int64)  # (m,) bin numbers
    grid = np.full((int(index[-1]) + 1, means.shape[1]), np.nan, np.float32)
    grid[index] = means
    frame = pd.DataFrame(grid, columns=columns)
    frame.insert(0, "time", (np.arange(len(grid)) + 0.5) / rate_hz)
    return frame


def audio_tracks(covarep: np.ndarray, rate_hz: float = DISPLAY_RATE_HZ) -> pd.DataFrame:
    """COVAREP resampled for display: ``time`` (bin centre, s) and the 74 columns.

    Parameters
    ----------
    covarep : numpy.ndarray
        The session's COVAREP matrix, shape ``(n, 74)``, 100 rows per second.
    rate_hz : float, default DISPLAY_RATE_HZ
        Points per second.

    Returns
    -------
    pandas.DataFrame
        One row per bin from 0 s to the last frame. All-zero (scrubbed) rows are left
        out; F0 and the other glottal columns average the *voiced* frames only (NaN in a
        bin with none), so F0 is never pulled towards 0 Hz by unvoiced frames; ``VUV`` is
        the bin's voiced share.
    """
    values = np.array(covarep, dtype=np.float32)  # (n, 74) a copy: bin_means writes to it
    times = np.arange(len(values)) / formats.COVAREP_RATE_HZ  # (n,)
    kept = values.any(axis=1)  # scrubbed audio is all zeros
    values, times = values[kept], times[kept]
    unvoiced = values[:, _VUV] < 0.5
    values[np.ix_(unvoiced, _GLOTTAL)] = np.nan
    centres, means = bin_means(times, values, rate_hz)
    return _on_grid(centres, means, rate_hz, formats.COVAREP_COLUMNS)


def face_tracks(table: ClnfTable, rate_hz: float = DISPLAY_RATE_HZ) -> pd.DataFrame:
    """A CLNF file resampled for display: ``time``, ``face_found`` and its columns.

    ``face_found`` is the share of frames in the bin where the tracker found a face;
    every other column averages those frames only (NaN in a bin without a face).
    """
    times = np.asarray(table.timestamp, np.float64)
    order = np.argsort(times, kind="stable")  # timestamps are sorted in every real file
    found = table.success[order].astype(np.float32)[:, None]  # (n, 1)
    values = np.array(table.values[order], dtype=np.float32)  # (n, k)
    values[~table.success[order]] = np.nan
    centres, means = bin_means(times[order], np.concatenate([found, values], axis=1), rate_hz)
    return _on_grid(centres, means, rate_hz, ["face_found", *table.columns])
