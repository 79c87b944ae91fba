"""The four label files, with their naming differences, read into one table.

``train_split_Depression_AVEC2017.csv`` and ``dev_split_Depression_AVEC2017.csv`` carry
``PHQ8_Binary``/``PHQ8_Score`` and the eight items; ``full_test_split.csv`` spells them
``PHQ_Binary``/``PHQ_Score``; ``test_split_Depression_AVEC2017.csv`` has IDs and gender
only, with the ID column sometimes spelled ``participant_ID``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.data import formats
from core.data.errors import DataError

_CANONICAL = {
    "participant_id": "Participant_ID",
    "phq8_binary": "PHQ8_Binary",
    "phq_binary": "PHQ8_Binary",
    "phq8_score": "PHQ8_Score",
    "phq_score": "PHQ8_Score",
    "gender": "Gender",
    **{item.lower(): item for item in formats.PHQ8_ITEMS},
}


@dataclass
class LabelRow:
    """What the label files say about one participant."""

    split: str
    phq8_binary: int | None = None
    phq8_score: int | None = None
    gender: int | None = None
    items: dict[str, int | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _delimiter(header: str) -> str:
    """The header's separator; a header without one (a single column) reads as CSV.

    Chosen from the header line rather than guessed from the whole file: pandas' guesser
    splits a one-column file on a letter (``participant_ID`` on ``t``) and fails on an
    empty one.
    """
    return next((sep for sep in (",", "\t", ";") if sep in header), ",")


def _read_table(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Read one label file; return its table (a ``line`` column added) and notes.

    Blank lines and rows of empty cells (``,,,``) are dropped with one note per file; a
    UTF-8 byte-order mark is removed, so the first column keeps its name.
    """
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path.name, f"cannot be read as a CSV label file ({error})") from None
    if not text.strip():
        raise DataError(path.name, "file is empty; a label file starts with a header line")
    try:
        table = pd.read_csv(
            io.StringIO(text),
            sep=_delimiter(text.splitlines()[0]),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(path.name, f"cannot be read as a CSV label file ({error})") from None
    table = table.fillna("")  # short rows leave NaN even with keep_default_na=False
    table.columns = [_CANONICAL.get(c.strip().lower(), c.strip()) for c in table.columns]
    if "Participant_ID" not in table.columns:
        raise DataError(path.name, f"has no participant ID column (columns: {list(table)})")
    table["line"] = np.arange(len(table)) + 2  # file line of each row, after the header
    empty = (table.drop(columns="line").apply(lambda c: c.str.strip()) == "").all(axis=1)
    notes = []
    if empty.any():
        notes.append(
            f"{path.name}: {int(empty.sum())} empty row(s) (blank lines or rows of commas "
            "only) ignored"
        )
    return table[~empty.to_numpy()], notes


def _number(text: str, where: str, column: str, problems: list[str]) -> int | None:
    """A label cell as a whole number, or None with a problem naming file and row."""
    text = text.strip()
    if text == "":
        problems.append(f"{where}: {column} is blank")
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append(f"{where}: {column} is {text!r}, not a number; left unknown")
        return None
    if not np.isfinite(value):
        problems.append(f"{where}: {column} is {text!r}, not a finite number; left unknown")
        return None
    if not value.is_integer():
        problems.append(f"{where}: {column} is {text!r}, not a whole number; left unknown")
        return None
    return int(value)


def _participant_id(raw: str) -> int | None:
    """``"300"`` and ``"300.0"`` are participant 300; anything else is no ID."""
    raw = raw.strip()
    if raw.isdigit():
        return int(raw)
    try:
        value = float(raw)
    except ValueError:
        return None
    return int(value) if value.is_integer() and value >= 0 else None


_SOURCES = (
    ("train", formats.TRAIN_LABELS, True),
    ("dev", formats.DEV_LABELS, True),
    ("test", formats.TEST_LABELS_FULL, True),
    ("test", formats.TEST_IDS, False),
)


def _missing(root: Path, name: str, split: str) -> str | None:
    """The problem of a missing label file (the test ID file alone is optional)."""
    optional = name == formats.TEST_IDS or (
        name == formats.TEST_LABELS_FULL and (root / formats.TEST_IDS).is_file()
    )
    return None if optional else f"{name} is missing: no {split} labels"


def _entry(row: pd.Series, table: pd.DataFrame, split: str, name: str, labelled: bool) -> LabelRow:
    """One participant's labels from one row."""
    where = f"{name} row {row['line']}"
    entry = LabelRow(split=split)
    entry.gender = _number(row.get("Gender", ""), where, "Gender", entry.problems)
    if labelled:
        entry.phq8_binary = _number(
            row.get("PHQ8_Binary", ""), where, "PHQ8_Binary", entry.problems
        )
        entry.phq8_score = _number(row.get("PHQ8_Score", ""), where, "PHQ8_Score", entry.problems)
        for item in formats.PHQ8_ITEMS:
            if item in table.columns:
                entry.items[item] = _number(row[item], where, item, entry.problems)
        _check_consistency(entry, name)
    return entry


def _read_one(
    path: Path, split: str, labelled: bool, labels: dict[int, LabelRow], problems: list[str]
) -> None:
    """Add the participants of one label file to ``labels`` and its problems to ``problems``."""
    name = path.name
    try:
        table, notes = _read_table(path)
    except DataError as error:
        problems.append(str(error))
        return
    problems.extend(notes)
    if labelled:
        problems.extend(
            f"{name} has no {column} column"
            for column in ("PHQ8_Binary", "PHQ8_Score")
            if column not in table.columns
        )
    decimal_ids: list[tuple[str, int]] = []
    first_row: dict[int, int] = {}
    for _, row in table.iterrows():
        raw_id = str(row["Participant_ID"]).strip()
        pid = _participant_id(raw_id)
        if pid is None:
            problems.append(f"{name} row {row['line']}: participant ID {raw_id!r} is not a number")
            continue
        if not raw_id.isdigit():
            decimal_ids.append((raw_id, int(row["line"])))
        if pid in first_row:
            problems.append(
                f"{name}: participant {pid} is listed twice (rows {first_row[pid]} and "
                f"{row['line']}); first row used"
            )
            continue
        first_row[pid] = int(row["line"])
        if pid in labels:
            if labels[pid].split != split:
                problems.append(
                    f"participant {pid} is listed in both the {labels[pid].split} and the "
                    f"{split} split ({name}); kept in {labels[pid].split}"
                )
            continue
        labels[pid] = _entry(row, table, split, name, labelled)
    if decimal_ids:
        raw, line = decimal_ids[0]
        problems.append(
            f"{name}: {len(decimal_ids)} participant ID(s) written as decimals (first "
            f"{raw!r} at row {line}), read as whole numbers"
        )


def read_labels(root: Path) -> tuple[dict[int, LabelRow], list[str]]:
    """Read every label file under ``root``.

    Parameters
    ----------
    root : pathlib.Path
        Corpus root.

    Returns
    -------
    labels : dict
        Participant ID to :class:`LabelRow`. Test participants get labels from
        ``full_test_split.csv`` when it exists, else only their split and gender. A
        label that is not a finite whole number is left unknown, with a problem naming
        the file and row.
    problems : list of str
        Corpus-level problems (missing or unreadable files, empty rows, an ID listed
        twice or in two splits, IDs written as decimals).
    """
    problems: list[str] = []
    labels: dict[int, LabelRow] = {}
    for split, name, labelled in _SOURCES:
        path = root / name
        if path.is_file():
            _read_one(path, split, labelled, labels, problems)
        elif problem := _missing(root, name, split):
            problems.append(problem)
    return dict(sorted(labels.items())), problems


def _check_consistency(entry: LabelRow, name: str) -> None:
    """Report labels that contradict each other (kept as given, never silently fixed)."""
    score, binary = entry.phq8_score, entry.phq8_binary
    if binary is not None and binary not in (0, 1):
        entry.problems.append(f"{name}: PHQ8_Binary is {binary}, expected 0 or 1")
    if score is not None and binary in (0, 1) and (score >= formats.PHQ8_CUTOFF) != bool(binary):
        entry.problems.append(
            f"{name}: PHQ8_Score {score} implies PHQ8_Binary "
            f"{int(score >= formats.PHQ8_CUTOFF)} but the file says {binary} "
            "(the file's binary label is used)"
        )
    items = [v for v in entry.items.values() if v is not None]
    if entry.items and len(items) == len(entry.items) and score is not None:
        if sum(items) != score:
            entry.problems.append(
                f"{name}: PHQ-8 items sum to {sum(items)} but PHQ8_Score is {score}"
            )
