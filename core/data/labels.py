"""The four label files, with their naming differences, read into one table.

``train_split_Depression_AVEC2017.csv`` and ``dev_split_Depression_AVEC2017.csv`` carry
``PHQ8_Binary``/``PHQ8_Score`` and the eight items; ``full_test_split.csv`` spells them
``PHQ_Binary``/``PHQ_Score``; ``test_split_Depression_AVEC2017.csv`` has IDs and gender
only, with the ID column sometimes spelled ``participant_ID``.
"""

from __future__ import annotations

from collections import defaultdict
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


def _read_table(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, sep=None, engine="python", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(path.name, f"cannot be read as a CSV label file ({error})") from None
    table = table.fillna("")  # short rows leave NaN even with keep_default_na=False
    table.columns = [_CANONICAL.get(c.strip().lower(), c.strip()) for c in table.columns]
    if "Participant_ID" not in table.columns:
        raise DataError(path.name, f"has no participant ID column (columns: {list(table)})")
    return table


def _number(text: str, path: Path, pid: int, column: str, problems: list[str]) -> int | None:
    text = text.strip()
    if text == "":
        problems.append(f"{path.name}: {column} is blank")
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append(f"{path.name}: {column} is {text!r}, not a number")
        return None
    return int(value) if np.isfinite(value) else None


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
        ``full_test_split.csv`` when it exists, else only their split and gender.
    problems : list of str
        Corpus-level problems (missing or unreadable files, a participant listed in two
        splits).
    """
    problems: list[str] = []
    labels: dict[int, LabelRow] = {}
    seen: dict[int, set[str]] = defaultdict(set)  # files that listed each ID
    sources = [
        ("train", formats.TRAIN_LABELS, True),
        ("dev", formats.DEV_LABELS, True),
        ("test", formats.TEST_LABELS_FULL, True),
        ("test", formats.TEST_IDS, False),
    ]
    for split, name, labelled in sources:
        path = root / name
        if not path.is_file():
            if name != formats.TEST_IDS and not (
                name == formats.TEST_LABELS_FULL and (root / formats.TEST_IDS).is_file()
            ):
                problems.append(f"{name} is missing: no {split} labels")
            continue
        try:
            table = _read_table(path)
        except DataError as error:
            problems.append(str(error))
            continue
        for _, row in table.iterrows():
            row_problems: list[str] = []
            raw_id = str(row["Participant_ID"]).strip()
            if not raw_id.isdigit():
                problems.append(f"{name}: participant ID {raw_id!r} is not a number")
                continue
            pid = int(raw_id)
            if pid in labels:
                if labels[pid].split != split:
                    problems.append(
                        f"participant {pid} is listed in both the {labels[pid].split} and "
                        f"the {split} split ({name}); kept in {labels[pid].split}"
                    )
                elif name in seen[pid]:
                    problems.append(f"{name}: participant {pid} is listed twice; first row used")
                seen[pid].add(name)
                continue
            seen[pid].add(name)
            entry = LabelRow(split=split, problems=row_problems)
            entry.gender = _number(row.get("Gender", ""), path, pid, "Gender", row_problems)
            if labelled:
                for column in ("PHQ8_Binary", "PHQ8_Score"):
                    if column not in table.columns:
                        raise_missing = f"{name} has no {column} column"
                        if raise_missing not in problems:
                            problems.append(raise_missing)
                entry.phq8_binary = _number(
                    row.get("PHQ8_Binary", ""), path, pid, "PHQ8_Binary", row_problems
                )
                entry.phq8_score = _number(
                    row.get("PHQ8_Score", ""), path, pid, "PHQ8_Score", row_problems
                )
                for item in formats.PHQ8_ITEMS:
                    if item in table.columns:
                        entry.items[item] = _number(row[item], path, pid, item, row_problems)
                _check_consistency(entry, name)
            labels[pid] = entry
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
