"""Read every file of a corpus and report what it holds and everything wrong with it.

:func:`check_corpus` opens a :class:`~core.data.corpus.Corpus`, parses every session file
with the readers, one session at a time, and adds the checks that need the data itself
(a transcript without interviewer lines, a video that stops early, a face tracker that
never found a face, silent audio). A file that cannot be read is listed with its problem
and the rest of the corpus is still read. ``python -m core.data check ROOT [--json]``
prints the report (:func:`main_check`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from core.data import formats, readers, validity
from core.data.corpus import Corpus, Participant
from core.data.errors import DataError, out_of_memory
from core.data.gate import usable_turns
from core.data.sources import SessionSource

VIDEO_CUT_TOLERANCE_S = 30.0
"""A face track ending more than this long before the audio is reported as cut early."""

WORKERS = 2
"""Sessions read at once. pyarrow parses and zlib inflates without the GIL, so a second
thread overlaps one session's unzipping and Python-level work with another's parsing
(the measured gain is in ``benchmarks/README.md``)."""


def _transcript_problems(frame: pd.DataFrame, name: str, problems: list[str]) -> bool:
    """Check a parsed transcript; return whether it holds participant text."""
    speakers = set(frame["speaker"])
    if formats.INTERVIEWER not in speakers:
        problems.append(
            f"{name}: no interviewer (Ellie) lines; the session is usable, but "
            "Ellie-inclusive text variants are not available for it"
        )
    has_participant = formats.PARTICIPANT in speakers
    if not has_participant:
        problems.append(f"{name}: no participant lines, so there is no participant text")
    start = frame["start_time"].to_numpy()
    stop = frame["stop_time"].to_numpy()
    row = frame.attrs.get("file_rows") or list(range(2, len(frame) + 2))  # file row per line
    if dropped := frame.attrs.get("unusable_rows"):
        problems.append(
            f"{name}: row {dropped[0]} has a start or stop time that is not a finite number; "
            f"{len(dropped)} such row(s), left out (their words too)"
        )
    back = np.flatnonzero(np.diff(start) < 0)
    if back.size:
        i = int(back[0]) + 1  # the row whose start is earlier than the row before it
        problems.append(
            f"{name}: times go backwards at row {row[i]} (starts at {start[i]:.3f} s, "
            f"after a row starting at {start[i - 1]:.3f} s); {back.size} such row(s)"
        )
    reversed_rows = np.flatnonzero(stop < start)
    if reversed_rows.size:
        i = int(reversed_rows[0])
        problems.append(
            f"{name}: row {row[i]} stops ({stop[i]:.3f} s) before it starts "
            f"({start[i]:.3f} s); {reversed_rows.size} such row(s)"
        )
    _turn_problems(frame, name, row, problems)
    return has_participant


def _turn_problems(frame: pd.DataFrame, name: str, row: list[int], problems: list[str]) -> None:
    """Report participant lines the participant-speech gate cannot use as they are."""
    times = frame[["start_time", "stop_time"]].to_numpy(np.float64)  # (n, 2)
    is_participant = (frame["speaker"] == formats.PARTICIPANT).to_numpy()
    negative = np.flatnonzero(is_participant & (times < 0).any(axis=1))
    if negative.size:
        i = int(negative[0])
        problems.append(
            f"{name}: participant row {row[i]} has a negative time ({times[i, 0]:.3f} s); "
            f"{negative.size} such row(s), left out of the participant-speech gate"
        )
    ellie = times[(frame["speaker"] == formats.INTERVIEWER).to_numpy() & usable_turns(times)]
    overlapping = [
        i
        for i in np.flatnonzero(is_participant & usable_turns(times))
        if ((ellie[:, 0] < times[i, 1]) & (ellie[:, 1] > times[i, 0])).any()
    ]
    if overlapping:
        i = int(overlapping[0])
        problems.append(
            f"{name}: participant row {row[i]} overlaps an interviewer line; "
            f"{len(overlapping)} such row(s): the overlapping parts are left out of the "
            "participant-speech gate"
        )


def _covarep_problems(matrix: np.ndarray, name: str, problems: list[str]) -> bool:
    """Check a parsed COVAREP matrix; return whether it carries any signal."""
    if not matrix.any():
        problems.append(
            f"{name}: every value is 0 (scrubbed or silent audio); no audio features to use"
        )
        return False
    return True


def _clnf_problems(table: readers.ClnfTable, name: str, problems: list[str]) -> bool:
    """Check a parsed CLNF file; return whether any frame has a face."""
    if not table.success.any():
        problems.append(f"{name}: no frame has success = 1; the tracker never found a face")
        return False
    return True


def _video_problem(
    source: SessionSource, audio_seconds: float, face_ends: dict[str, float]
) -> str | None:
    """Report CLNF files that end well before the audio (a video cut early)."""
    cut = [k for k, end in face_ends.items() if audio_seconds - end > VIDEO_CUT_TOLERANCE_S]
    if not cut:
        return None
    end = face_ends[cut[0]]
    others = f"; {len(cut) - 1} other CLNF file(s) end early too" if len(cut) > 1 else ""
    return (
        f"{source.display(cut[0])}: video ends at {end:.1f} s but the audio "
        f"({source.display('covarep')}) runs to {audio_seconds:.1f} s: video cut early, "
        f"the last {audio_seconds - end:.0f} s have no face{others}"
    )


def _check_file(source: SessionSource, kind: str, problems: list[str], ends: dict) -> bool:
    """Parse one file fully and add its problems; return whether it holds usable data.

    Records where the COVAREP and CLNF files end (seconds) in ``ends``. The file's bytes
    and arrays are dropped on return, so a session is never held in memory at once.
    """
    name = source.display(kind)
    data = source.read_bytes(kind)
    if kind == "transcript":
        return _transcript_problems(readers.parse_transcript(data, name), name, problems)
    if kind == "covarep":
        matrix = readers.parse_covarep(data, name)
        ends[kind] = len(matrix) / formats.COVAREP_RATE_HZ
        ignore = validity.covarep_ignored(matrix)
        _cell_problems(matrix, formats.COVAREP_COLUMNS, name, 1, problems, data, ignore)
        return _covarep_problems(matrix, name, problems)
    if kind == "formant":
        matrix = readers.parse_formant(data, name)
        _cell_problems(matrix, formats.FORMANT_COLUMNS, name, 1, problems, data)
        return len(matrix) > 0
    table = readers.parse_clnf(data, name, kind)
    finite_times = table.timestamp[np.isfinite(table.timestamp)]
    ends[kind] = float(finite_times[-1]) if len(finite_times) else 0.0
    lead = np.stack(  # (n, 4) as in the file; only the timestamp is judged
        [np.zeros(len(table.timestamp)), table.timestamp, table.confidence, table.success]
    ).T.astype(np.float32)
    values = np.concatenate([lead, table.values], axis=1)  # (n, 4 + k)
    ignore = np.zeros(values.shape, bool)
    ignore[:, [0, 2, 3]] = True
    columns = (*formats.CLNF_LEAD, *table.columns)
    _cell_problems(values, columns, name, 2, problems, data, ignore)
    return _clnf_problems(table, name, problems)


def _cell_problems(
    values: np.ndarray,
    columns: tuple[str, ...],
    name: str,
    first_line: int,
    problems: list[str],
    raw: bytes,
    ignore: np.ndarray | None = None,
) -> None:
    """Add one message for the frames with a non-finite, unreadable or implausible cell."""
    if message := validity.describe(values, columns, first_line, ignore, raw):
        problems.append(f"{name}: {message}")


def check_session(source: SessionSource) -> tuple[list[str], list[str]]:
    """Read every file of one session fully and check its contents.

    Parameters
    ----------
    source : SessionSource
        The session's folder or archive.

    Returns
    -------
    modalities : list of str
        ``"text"``, ``"audio"``, ``"face"`` whose files exist, parse and hold data
        (participant lines; COVAREP that is not all zeros; at least one tracked face in
        the AUs, pose, gaze or landmarks file).
    problems : list of str
        One message per problem, each naming the file.
    """
    problems: list[str] = []
    usable: set[str] = set()  # file kinds that parsed and hold usable data
    ends: dict[str, float] = {}
    for kind in formats.SESSION_FILES:
        try:
            if _check_file(source, kind, problems, ends):
                usable.add(kind)
        except DataError as error:
            problems.append(str(error))
        except MemoryError:  # too little memory free is no bug of the reader
            problems.append(str(out_of_memory(source.display(kind))))
        except Exception as error:  # one unexpected file must not stop a 12 GB check
            problems.append(
                f"{source.display(kind)}: could not be read ({type(error).__name__}: "
                f"{error}); this is a bug in the reader, please report it"
            )
    audio_seconds = ends.pop("covarep", None)
    if audio_seconds is not None and (problem := _video_problem(source, audio_seconds, ends)):
        problems.append(problem)
    modalities = [
        modality
        for modality, kinds in formats.MODALITY_FILES.items()
        if any(kind in usable for kind in kinds)
    ]
    return modalities, problems


def _entry(participant: Participant, modalities: list[str], problems: list[str]) -> dict:
    entry = participant.as_dict()
    entry["modalities"] = modalities
    entry["problems"] = [*participant.problems, *problems]
    return entry


def check_corpus(
    root: str | Path,
    progress: Callable[[int, int], None] | None = None,
    workers: int = WORKERS,
    found: Callable[[int, list[str]], None] | None = None,
) -> dict:
    """Read a whole corpus, file by file, and report what it holds and what is wrong.

    Parameters
    ----------
    root : str or pathlib.Path
        Corpus root in the DAIC-WOZ layout.
    progress : callable, optional
        Called as ``progress(done, total)`` after each session is read.
    workers : int, default WORKERS
        Sessions read at once (1 reads them one after the other).
    found : callable, optional
        Called as ``found(participant_id, problems)`` after each session is read, before
        ``progress``, with that session's problems (so a caller can show them so far).

    Returns
    -------
    dict
        JSON-ready report: ``root`` (str); ``usable`` (bool: train labels exist and at
        least one labelled train participant has a readable session); ``participants``
        (list of dicts with ``id``, ``split``, ``phq8_binary``, ``phq8_score``,
        ``gender``, ``modalities`` (those whose files parse and hold data) and
        ``problems``); ``splits`` (split to ``{"n", "depressed"}``); ``problems``
        (corpus-level messages).

    Raises
    ------
    DataError
        ``root`` is not a folder.
    """
    corpus = Corpus(root)
    people = list(corpus.participants.values())
    with_source = [p for p in people if p.source is not None]
    results: dict[int, tuple[list[str], list[str]]] = {}
    with ThreadPoolExecutor(max(1, workers)) as pool:
        checked = pool.map(lambda p: check_session(p.source), with_source)
        for done, result in enumerate(checked, start=1):
            results[with_source[done - 1].id] = result
            if found is not None:
                found(with_source[done - 1].id, list(result[1]))
            if progress is not None:
                progress(done, len(with_source))
    entries = [_entry(p, *results.get(p.id, ([], []))) for p in people]
    usable = any(
        e["split"] == "train" and e["phq8_binary"] in (0, 1) and e["modalities"] for e in entries
    )
    problems = list(corpus.problems)
    if not usable:
        problems.append(
            "not usable: no labelled training participant has a readable session "
            f"(needs {formats.TRAIN_LABELS} and at least one session it lists)"
        )
    return {
        "root": str(corpus.root),
        "usable": usable,
        "participants": entries,
        "splits": corpus.splits(),
        "problems": problems,
    }


def format_report(report: dict) -> str:
    """The human-readable form of a :func:`check_corpus` report.

    Parameters
    ----------
    report : dict
        What :func:`check_corpus` returned.

    Returns
    -------
    str
        Per-split counts, corpus problems, then problems per participant.
    """
    state = "usable" if report["usable"] else "NOT usable"
    lines = [f"Corpus {report['root']}: {state}", ""]
    head = f"{'split':<6} {'participants':>12} {'depressed':>9}"
    lines.append(head + "".join(f" {m:>5}" for m in formats.MODALITY_FILES))
    for split, counts in report["splits"].items():
        members = [p for p in report["participants"] if p["split"] == split]
        have = [sum(m in p["modalities"] for p in members) for m in formats.MODALITY_FILES]
        lines.append(
            f"{split:<6} {counts['n']:>12} {counts['depressed']:>9}"
            + "".join(f" {n:>5}" for n in have)
        )
    if report["problems"]:
        lines += ["", "Corpus problems:", *(f"  - {p}" for p in report["problems"])]
    flagged = [p for p in report["participants"] if p["problems"]]
    if flagged:
        lines += [
            "",
            f"Participants with problems ({len(flagged)} of {len(report['participants'])}):",
        ]
        for p in flagged:
            lines.append(f"  {p['id']} ({p['split'] or 'no split'}):")
            lines += [f"    - {problem}" for problem in p["problems"]]
    if not report["problems"] and not flagged:
        lines += ["", "No problems found."]
    return "\n".join(lines)


def main_check(argv: list[str] | None = None) -> int:
    """``python -m core.data check ROOT [--json]``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments after ``check``; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        0 when the corpus is usable, 1 when it is not, 2 when ``ROOT`` is not a folder
        or the arguments are wrong.
    """
    parser = argparse.ArgumentParser(
        prog="python -m core.data check",
        description="Read every file of a DAIC-WOZ-layout corpus and report its problems.",
    )
    parser.add_argument("root", type=Path, metavar="ROOT", help="corpus root folder")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    try:
        ns = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if not ns.root.exists():
        print(f"check: {ns.root} does not exist; give a DAIC-WOZ corpus root", file=sys.stderr)
        return 2
    from tqdm import tqdm

    with tqdm(unit="session", desc="check", file=sys.stderr, disable=None) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            report = check_corpus(ns.root, progress=progress)
        except DataError as error:
            bar.close()
            print(f"check: {error}", file=sys.stderr)
            return 2
    print(json.dumps(report, indent=2) if ns.json else format_report(report))
    return 0 if report["usable"] else 1
