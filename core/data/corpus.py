"""A DAIC-WOZ-layout corpus: who is in it, in which split, with which label and files.

Opening a corpus reads the label files and indexes the session folders and archives; it
parses no session file. The per-file readers (:mod:`core.data.readers`) do that on demand,
and :mod:`core.data.check` reads everything to report problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.data import formats, known_defects, readers
from core.data.errors import DataError
from core.data.labels import read_labels
from core.data.sources import SessionSource, find_sessions, open_session


@dataclass
class Participant:
    """One participant of the corpus.

    Attributes
    ----------
    id : int
        Participant (session) ID.
    split : str or None
        ``"train"``, ``"dev"``, ``"test"``, or None when no label file lists them.
    phq8_binary : int or None
        1 = depressed, as the label file says; None when unknown (unlabelled test).
    phq8_score : int or None
        PHQ-8 total score.
    gender : int or None
        1 = male, 0 = female.
    modalities : list of str
        ``"text"``, ``"audio"``, ``"face"`` for which the session has the files.
    problems : list of str
        Everything found wrong with this participant's labels or files.
    source : SessionSource or None
        Where the session's files are; None when no folder or archive was found.
    """

    id: int
    split: str | None = None
    phq8_binary: int | None = None
    phq8_score: int | None = None
    gender: int | None = None
    modalities: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    source: SessionSource | None = None

    def as_dict(self) -> dict:
        """The participant as plain JSON-ready values (the ``check --json`` entry)."""
        return {
            "id": int(self.id),
            "split": self.split,
            "phq8_binary": self.phq8_binary,
            "phq8_score": self.phq8_score,
            "gender": self.gender,
            "modalities": list(self.modalities),
            "problems": list(self.problems),
        }


def _modalities(source: SessionSource) -> list[str]:
    present = []
    for modality, kinds in formats.MODALITY_FILES.items():
        if any(source.has(kind) for kind in kinds):
            present.append(modality)
    return present


class Corpus:
    """A corpus root in the DAIC-WOZ layout.

    Parameters
    ----------
    root : str or pathlib.Path
        Folder holding the ``NNN_P`` folders / ``NNN_P.zip`` archives and label files.

    Raises
    ------
    DataError
        ``root`` is not a folder.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise DataError(str(self.root), "is not a folder; expected a DAIC-WOZ corpus root")
        labels, self.problems = read_labels(self.root)
        self.participants: dict[int, Participant] = {}
        for pid, row in labels.items():
            self.participants[pid] = Participant(
                id=pid,
                split=row.split,
                phq8_binary=row.phq8_binary,
                phq8_score=row.phq8_score,
                gender=row.gender,
                problems=list(row.problems),
            )
        found = find_sessions(self.root)
        for pid, location in found.items():
            participant = self.participants.setdefault(pid, Participant(id=pid))
            if participant.split is None:
                participant.problems.append("session found but not listed in any split file")
            try:
                participant.source = open_session(location)
            except DataError as error:
                participant.problems.append(str(error))
                continue
            participant.modalities = _modalities(participant.source)
            participant.problems.extend(participant.source.notes)
            participant.problems.extend(known_defects.known_notes(pid))
        for participant in self.participants.values():
            if participant.id not in found:
                participant.problems.append(
                    f"listed in the {participant.split} split but no {participant.id}_P "
                    "folder or archive was found"
                )
        self.participants = dict(sorted(self.participants.items()))

    def assign(self, assignment: dict[str, list[int]]) -> None:
        """Replace the official train/dev split by an explicit one (a cross-validation fold).

        Participants named under ``"train"`` become training participants and those under
        ``"dev"`` validation participants; every other participant of the official train
        and dev splits leaves both (split None). The test split is never changed, so a
        fold can never train or select on test participants.

        Parameters
        ----------
        assignment : dict
            ``{"train": [ids], "dev": [ids]}``.

        Raises
        ------
        DataError
            An ID is named twice, is unknown, has no binary label, or is a test participant.
        """
        train = [int(i) for i in assignment.get("train", [])]
        dev = [int(i) for i in assignment.get("dev", [])]
        if twice := sorted(set(train) & set(dev)):
            raise DataError("split assignment", f"participants in both train and dev: {twice}")
        for pid in train + dev:
            participant = self.participants.get(pid)
            if participant is None:
                raise DataError("split assignment", f"participant {pid} is not in the corpus")
            if participant.split not in ("train", "dev"):
                raise DataError(
                    "split assignment",
                    f"participant {pid} is in the {participant.split} split, not train or dev",
                )
            if participant.phq8_binary not in (0, 1):
                raise DataError("split assignment", f"participant {pid} has no binary label")
        for participant in self.participants.values():
            if participant.split in ("train", "dev"):
                participant.split = None
        for split, ids in (("train", train), ("dev", dev)):
            for pid in ids:
                self.participants[pid].split = split

    # --- who is in it ----------------------------------------------------------------

    def ids(
        self, split: str | None = None, modality: str | None = None, labelled: bool = False
    ) -> list[int]:
        """Participant IDs, optionally of one split, with one modality, or labelled."""
        return [
            p.id
            for p in self.participants.values()
            if (split is None or p.split == split)
            and (modality is None or modality in p.modalities)
            and (not labelled or p.phq8_binary in (0, 1))
        ]

    def labels(self, ids: list[int]) -> np.ndarray:
        """Binary labels of ``ids`` as int64 (-1 where unknown)."""
        return np.array(
            [b if (b := self.participants[i].phq8_binary) in (0, 1) else -1 for i in ids],
            dtype=np.int64,
        )

    def splits(self) -> dict[str, dict[str, int]]:
        """Per split: number of participants (``n``) and of depressed ones."""
        out = {}
        for split in formats.SPLITS:
            members = [p for p in self.participants.values() if p.split == split]
            out[split] = {
                "n": len(members),
                "depressed": sum(p.phq8_binary == 1 for p in members),
            }
        return out

    def table(self) -> pd.DataFrame:
        """One row per participant (ID, split, labels, gender, modalities, problems)."""
        rows = [p.as_dict() for p in self.participants.values()]
        frame = pd.DataFrame(rows, columns=list(Participant(0).as_dict()))
        frame["modalities"] = frame["modalities"].map(", ".join)
        frame["n_problems"] = frame["problems"].map(len)
        return frame

    def source(self, pid: int) -> SessionSource:
        """Where this participant's files are.

        Raises
        ------
        DataError
            The participant is unknown or has no readable session.
        """
        participant = self.participants.get(pid)
        if participant is None:
            raise DataError(str(self.root), f"has no participant {pid}")
        if participant.source is None:
            raise DataError(f"{pid}_P", "no readable session folder or archive")
        return participant.source

    # --- reading one session ---------------------------------------------------------

    def transcript(self, pid: int) -> pd.DataFrame:
        """The session's transcript, with known sync offsets applied."""
        source = self.source(pid)
        frame = readers.parse_transcript(
            source.read_bytes("transcript"), source.display("transcript")
        )
        if offset := known_defects.transcript_offset(pid):
            frame[["start_time", "stop_time"]] += offset
        return frame

    def covarep(self, pid: int) -> np.ndarray:
        """COVAREP matrix ``(rows, 74)`` at 100 Hz."""
        source = self.source(pid)
        return readers.parse_covarep(source.read_bytes("covarep"), source.display("covarep"))

    def formant(self, pid: int) -> np.ndarray:
        """FORMANT matrix ``(rows, 5)`` at 100 Hz."""
        source = self.source(pid)
        return readers.parse_formant(source.read_bytes("formant"), source.display("formant"))

    def clnf(self, pid: int, kind: str) -> readers.ClnfTable:
        """One CLNF file (``"aus"``, ``"pose"``, ``"gaze"``, ``"landmarks"``, ...)."""
        source = self.source(pid)
        data = bytes(source.read_view(kind))  # where a worker hashed it: not read again
        return readers.parse_clnf(data, source.display(kind), kind)
