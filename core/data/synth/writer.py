"""Writing a synthetic corpus: the files of each session, folders or archives, and labels."""

from __future__ import annotations

import os
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from core.data import formats
from core.data.synth.audio import _audio
from core.data.synth.dialogue import _dialogue, _transcript_bytes
from core.data.synth.face import _face
from core.data.synth.people import _draw_people, _label_files, _Person

MIN_SECONDS = 10.0
"""Shortest session the generator accepts (``minutes * 60``)."""


def _csv_bytes(blocks: list[np.ndarray], separator: str = ",") -> bytes:
    """Rows of the horizontally stacked blocks, no header.

    Values must already be rounded: pyarrow writes each float's shortest text, so a
    rounded value comes out with at most its decimals, and whole numbers (frame numbers,
    flags) come out as integers (``1.0`` is written ``1``).
    """
    columns = [c for b in blocks for c in np.ascontiguousarray(np.asarray(b, float).T)]
    table = pa.Table.from_arrays(
        [pa.array(c) for c in columns], names=[str(j) for j in range(len(columns))]
    )
    sink = pa.BufferOutputStream()
    options = pacsv.WriteOptions(include_header=False, delimiter=",", quoting_style="none")
    pacsv.write_csv(table, sink, options)
    body = sink.getvalue().to_pybytes()
    # Numbers hold no commas, so widening the delimiter afterwards is safe.
    return body if separator == "," else body.replace(b",", separator.encode())


LEAD_IN_SECONDS = (20.0, 40.0)
"""Where real transcripts start: 20-40 s into the recording, before Ellie's first line."""


def _lead_in(rng: np.random.Generator, interview: float) -> float:
    """When Ellie's first line starts: 20-40 s into the recording, less for short interviews.

    Real sessions are 7-33 minutes; a test corpus's 20-second interview would otherwise be
    mostly lead-in, so interviews shorter than 45 s get a proportionally shorter one.
    """
    low, high = LEAD_IN_SECONDS
    return round(rng.uniform(low, high) * min(1.0, interview / 45.0), 3)


def _session_files(
    person: _Person, minutes: float, seed: int, transcripts_only: bool = False
) -> dict[str, bytes]:
    """Every file of one session (or only its transcript), by file name."""
    # the fifth stream decides the interviewer's diagnosis question and its follow-ups
    streams = np.random.SeedSequence([seed, person.pid]).spawn(5)
    length_rng, talk_rng, audio_rng, face_rng, prompt_rng = (
        np.random.default_rng(s) for s in streams
    )
    s_audio, s_face, s_text = person.latent
    interview = minutes * 60.0 * length_rng.uniform(0.9, 1.1)
    lead_in = _lead_in(length_rng, interview)
    seconds = lead_in + interview  # the recording runs from before Ellie's first line

    dialogue = _dialogue(
        talk_rng, prompt_rng, person.depressed, s_audio, s_text, seconds, start=lead_in
    )
    pid = person.pid
    transcript = {formats.session_file(pid, "transcript"): _transcript_bytes(dialogue)}
    if transcripts_only:  # each modality draws from its own stream: the words are the same
        return transcript
    covarep, formant = _audio(audio_rng, dialogue, seconds, person.gender, s_audio)
    face = _face(face_rng, dialogue, seconds, s_face)

    files = {
        **transcript,
        formats.session_file(pid, "covarep"): _csv_bytes([covarep]),
        formats.session_file(pid, "formant"): _csv_bytes([formant]),
    }
    sep = formats.CLNF_SEPARATOR
    for kind, (_, columns) in formats.CLNF_FILES.items():
        header = (sep.join(formats.CLNF_LEAD + columns) + "\n").encode()
        files[formats.session_file(pid, kind)] = header + _csv_bytes(
            [face["lead"], face[kind]], sep
        )
    return files


def _write_session(out: Path, pid: int, files: dict[str, bytes], archive: bool) -> int:
    """Write one session as a folder or a zip; return the bytes written."""
    if not archive:
        folder = out / formats.session_folder(pid)
        folder.mkdir()
        for name, data in files.items():
            (folder / name).write_bytes(data)
        return sum(len(d) for d in files.values())
    path = out / f"{formats.session_folder(pid)}.zip"
    with zipfile.ZipFile(path, "w") as archive_file:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive_file.writestr(info, data, compresslevel=1)  # fast; level 6 is 8x slower
    return path.stat().st_size


def _check_arguments(out: Path, participants: int, minutes: float, seed: int) -> None:
    if participants < 6:
        raise ValueError(f"participants={participants}: need at least 6 (two per split)")
    if minutes * 60.0 < MIN_SECONDS:
        raise ValueError(f"minutes={minutes}: sessions need at least {MIN_SECONDS:g} seconds")
    if seed < 0:
        raise ValueError(f"seed={seed}: use a non-negative integer")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} is not empty: choose a new folder or empty this one")


def write_corpus(
    out: Path,
    participants: int = 60,
    minutes: float = 1.0,
    seed: int = 0,
    first_id: int = 900,
    archives: bool = False,
    progress: Callable[[int, int], None] | None = None,
    transcripts_only: bool = False,
) -> dict:
    """Write a synthetic corpus in the DAIC-WOZ layout.

    Parameters
    ----------
    out : pathlib.Path
        Corpus root; created if missing, and must be empty if it exists.
    participants : int, default 60
        Number of sessions (at least 6: every split needs a depressed and a
        non-depressed participant). They are split 107/35/47 like the real corpus,
        with about 30 % depressed per split.
    minutes : float, default 1.0
        Mean session length (each session varies by up to 10 %); at least
        ``MIN_SECONDS / 60``.
    seed : int, default 0
        Non-negative seed; the same arguments give byte-identical files.
    first_id : int, default 900
        The first participant ID; IDs are ``first_id, first_id + 1, ...``.
    archives : bool, default False
        Write each session as ``NNN_P.zip`` (files at the archive root) instead of a
        ``NNN_P/`` folder.
    progress : callable, optional
        Called as ``progress(done, total)`` after each session is written.
    transcripts_only : bool, default False
        Write only the label files and each session's transcript (the same words as a
        full corpus of the same arguments): a corpus for the text model alone, written in
        a small fraction of the time.

    Returns
    -------
    dict
        ``splits`` (split to sorted IDs), ``depressed`` (split to number depressed),
        ``participants``, ``minutes``, ``seed``, ``archives``, ``seconds`` (time taken)
        and ``bytes`` (size on disk of everything written).

    Raises
    ------
    ValueError
        Arguments out of range.
    FileExistsError
        ``out`` exists and is not empty.
    """
    out = Path(out)
    _check_arguments(out, participants, minutes, seed)
    began = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    people = _draw_people(participants, seed, first_id)
    written = 0
    for name, text in _label_files(people).items():
        written += (out / name).write_bytes(text.encode())

    def one(person: _Person) -> int:
        files = _session_files(person, minutes, seed, transcripts_only)
        return _write_session(out, person.pid, files, archives)

    # numpy and pyarrow release the GIL for the heavy parts, so threads use both cores.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for done, size in enumerate(pool.map(one, people), start=1):
            written += size
            if progress is not None:
                progress(done, len(people))
    return {
        "splits": {s: [p.pid for p in people if p.split == s] for s in formats.SPLITS},
        "depressed": {s: sum(p.depressed for p in people if p.split == s) for s in formats.SPLITS},
        "participants": participants,
        "minutes": minutes,
        "seed": seed,
        "archives": archives,
        "seconds": round(time.perf_counter() - began, 3),
        "bytes": written,
    }
