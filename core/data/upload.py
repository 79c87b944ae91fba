"""One interview session uploaded as a zip, checked like the corpus and kept apart from it.

The Predict page lets a user upload one session in the DAIC-WOZ layout: the files of
``NNN_P`` (``NNN_TRANSCRIPT.csv``, ``NNN_COVAREP.csv``, ``NNN_CLNF_AUs.txt``, ...) at the
root of a zip archive or inside one ``NNN_P/`` folder, which is what
:func:`core.data.sources.open_session` reads. :func:`open_upload` checks the archive
itself (size, zip structure, member names, whose session it is), writes it as
``NNN_P.zip`` into a private folder the caller owns, reads every file with
:func:`core.data.check.check_session`, and returns a :class:`~core.data.corpus.Corpus`
over that folder alone, so the readers and :func:`core.data.frames.extract_session` work on
the upload unchanged. The user's corpus is never touched, and nothing is extracted: the
data layer reads members straight from the archive.

Limits
    :data:`MAX_UPLOAD_BYTES` matches ``server.maxUploadSize = 200`` in
    ``.streamlit/config.toml``. :data:`MAX_UNPACKED_BYTES` bounds the summed uncompressed
    size of the *session files* (the members the data layer reads; an unused
    ``NNN_AUDIO.wav`` or ``NNN_CLNF_hog.bin`` is never inflated, so it does not count).
    The sizes come from the archive's directory, and are refused before anything is
    inflated. Members are read through a stream that stops one byte past the declared
    size (:func:`core.data.sources.read_member`), so a lying header is refused, naming
    the member, with no more than its declared size in memory; compression methods
    other than stored and deflate are refused from the directory (bzip2 inflates a
    whole block, up to gigabytes, before any check). The bounds follow from a memory
    budget: the session files are checked one at a time, and parsing a file holds at
    most :data:`BYTES_PER_BYTE` bytes of memory per byte of it, a figure per format
    (measured on the densest files there are: one-digit cells for the numeric tables,
    the shortest lines for a transcript). So :data:`MAX_UNPACKED_BYTES` is
    :data:`UPLOAD_MEMORY_BUDGET` divided by :data:`PARSE_BYTES_PER_BYTE` (COVAREP's),
    and a file of a format that takes more has its own, lower limit
    (:func:`format_limit`: a CLNF file's, a transcript's).
    ``benchmarks/upload_memory.py`` measures every format's bytes per byte.

Where uploads live
    Each server process keeps its uploads in its own folder, :func:`server_uploads_folder`
    (``daic-uploads-PID-START`` in the system's temporary folder, removed when the
    process exits); a folder whose process is gone (a killed server) is removed when the
    next server starts. Each upload has its own folder in it, an :class:`UploadFolder`,
    removed as soon as nothing holds it any more: the browser session that keeps it in
    its state ends, or the session replaces it with another upload.
"""

from __future__ import annotations

import atexit
import io
import os
import re
import shutil
import tempfile
import weakref
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import psutil

from core.data import formats, known_defects
from core.data.check import check_session
from core.data.corpus import Corpus
from core.data.errors import DataError
from core.data.sources import SESSION_NAME, SessionSource, member_ids, member_problem

MAX_UPLOAD_BYTES = 200 * 1024**2
"""Largest upload accepted, as ``server.maxUploadSize`` (MB) in ``.streamlit/config.toml``."""

UPLOAD_MEMORY_BUDGET = 4 * 1024**3
"""Most memory the checking of one upload may take: well below a workstation's."""

PARSE_BYTES_PER_BYTE = 10
"""Memory checking a COVAREP or FORMANT file takes per byte of it, at most: a file of
one-digit cells is the densest, each two bytes of text becoming a number, its mask and
its Arrow copy (``benchmarks/upload_memory.py`` measures it per format)."""

CLNF_BYTES_PER_BYTE = 15
"""The same for a CLNF file: each row's four leading columns are also kept as 8-byte
numbers and copied for the checks, which tells most in the narrowest file (pose)."""

TRANSCRIPT_BYTES_PER_BYTE = 20
"""Memory checking a transcript takes per byte of it, at most: its shortest lines
(``0<TAB>0<TAB>Ellie<TAB>ab``, 13 bytes) each become two times, a speaker and a text
object, about 15 bytes per byte (``benchmarks/upload_memory.py``)."""

BYTES_PER_BYTE: dict[str, int] = {
    "transcript": TRANSCRIPT_BYTES_PER_BYTE,
    "covarep": PARSE_BYTES_PER_BYTE,
    "formant": PARSE_BYTES_PER_BYTE,
    **dict.fromkeys(formats.CLNF_FILES, CLNF_BYTES_PER_BYTE),
}
"""Each session file kind's bound on the memory per byte that checking it takes."""

MAX_UNPACKED_BYTES = UPLOAD_MEMORY_BUDGET // PARSE_BYTES_PER_BYTE
"""Largest summed uncompressed size of the session files in an upload (410 MB, a zip-bomb
guard). The longest real DAIC-WOZ sessions hold a few hundred MB of text files."""

UPLOADS_PREFIX = "daic-uploads-"
"""Name prefix of each server process's uploads folder in the temporary folder."""

MAX_MEMBERS = 1000
"""Most entries an uploaded archive may hold; a session has about ten files."""

_REZIP = "zip the session's NNN_P folder again and upload that"


@dataclass
class UploadedSession:
    """One uploaded session, checked and readable through its own corpus.

    Attributes
    ----------
    pid : int
        Participant ID, from the file name or the names of the files inside.
    corpus : Corpus
        A corpus over a private folder holding only this session (no label files, so
        the participant's ``split`` is None).
    modalities : list of str
        ``"text"``, ``"audio"``, ``"face"`` whose files parse and hold data.
    problems : list of str
        Non-fatal problems of the session's own files, each naming the file.
    filename : str
        The name the file was uploaded under.
    missing : dict
        Each modality that is not in ``modalities``, to why: the damaged file with its
        row and problem, or the files the upload lacks.
    """

    pid: int
    corpus: Corpus
    modalities: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    filename: str = ""
    missing: dict[str, str] = field(default_factory=dict)


def _size(n: int) -> str:
    """A byte count for people: ``"200 MB"``, ``"48.8 KB"``, ``"512 bytes"``."""
    if n >= 1024**2:
        return f"{n / 1024**2:.4g} MB"
    if n >= 1024:
        return f"{n / 1024:.3g} KB"
    return f"{n} bytes"


def _unsafe(name: str) -> bool:
    """Whether a member name is absolute or climbs out of the archive with ``..``."""
    posix = name.replace("\\", "/")
    return posix.startswith("/") or bool(re.match(r"^[A-Za-z]:", posix)) or ".." in posix.split("/")


def _open_archive(data: bytes, name: str) -> zipfile.ZipFile:
    """Open the uploaded bytes as a zip archive, or say why they are not one."""
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
        if data.startswith(b"PK\x03\x04"):
            problem = (
                f"starts like a zip archive but its end is missing or damaged ({error}): the "
                "file was probably cut short (an interrupted download or copy); "
                "upload a complete copy"
            )
        else:
            problem = (
                f"is not a zip archive ({error}): upload one session as NNN_P.zip, the "
                "archive the corpus is distributed in, or a zip of one NNN_P folder"
            )
        raise DataError(name, problem) from None


def _session_pid(filename_pid: int | None, names: list[str], name: str) -> int:
    """Whose session the archive holds: the file name and the files inside must agree."""
    ids = member_ids(names)
    if not ids:
        expected = ", ".join(f"NNN_{suffix}" for suffix in formats.SESSION_FILES.values())
        found = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise DataError(
            name,
            f"holds no DAIC-WOZ session file (found: {found or 'nothing'}); expected "
            f"files such as {expected}, at the archive root or in one NNN_P/ folder",
        )
    if len(ids) > 1:
        listed = ", ".join(str(i) for i in sorted(ids))
        raise DataError(
            name,
            f"holds files of several participants ({listed}); upload one session at a time",
        )
    (pid,) = ids
    if filename_pid is not None and filename_pid != pid:
        raise DataError(
            name,
            f"is named for participant {filename_pid} but its files are participant {pid}'s "
            f"({pid}_...); rename it {formats.session_folder(pid)}.zip or upload the "
            "right session",
        )
    return pid


def _check_archive(archive: zipfile.ZipFile, filename_pid: int | None, name: str) -> int:
    """Check the archive's directory (no member is read); return the participant ID."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise DataError(
            name,
            f"holds {len(infos)} entries; a session has about ten files (the limit is "
            f"{MAX_MEMBERS}): upload one session, not a whole corpus",
        )
    if unsafe := [info.filename for info in infos if _unsafe(info.filename)]:
        raise DataError(
            name,
            f"holds a file with an unsafe path ({unsafe[0]}): a session archive never has "
            "absolute paths or '..', so this one may have been crafted. Nothing was "
            f"extracted; {_REZIP}",
        )
    names = [info.filename for info in infos if not info.is_dir()]
    return _session_pid(filename_pid, names, name)


def _check_members(
    archive: zipfile.ZipFile, source: SessionSource, name: str, max_unpacked_bytes: int
) -> None:
    """Refuse session files that would inflate too far or that zipfile cannot read."""
    infos = [archive.getinfo(member) for member in source.members.values()]
    unpacked = sum(info.file_size for info in infos)
    if unpacked > max_unpacked_bytes:
        raise DataError(
            name,
            f"its session files would unpack to {_size(unpacked)}, over the limit of "
            f"{_size(max_unpacked_bytes)}: real sessions are far smaller, so the archive "
            f"may be damaged or crafted; {_REZIP}",
        )
    for kind, member in source.members.items():
        info = archive.getinfo(member)
        if info.file_size > (limit := format_limit(kind)):
            raise DataError(
                f"{name}:{member}",
                f"would unpack to {_size(info.file_size)}, over the limit of {_size(limit)} "
                f"for an NNN_{formats.SESSION_FILES[kind]} file (checking one takes up to "
                f"{BYTES_PER_BYTE[kind]} bytes of memory per byte, within a "
                f"{_size(UPLOAD_MEMORY_BUDGET)} budget): real ones are far smaller, so the "
                f"archive may be damaged or crafted; {_REZIP}",
            )
        if problem := member_problem(info):
            raise DataError(f"{name}:{member}", problem)


def format_limit(kind: str) -> int:
    """Largest declared size of one session file of ``kind`` an upload may hold.

    The memory budget divided by the kind's bytes per byte (:data:`BYTES_PER_BYTE`):
    :data:`MAX_UNPACKED_BYTES` for COVAREP and FORMANT, less for CLNF files and less
    still for a transcript.
    """
    return UPLOAD_MEMORY_BUDGET // BYTES_PER_BYTE[kind]


def _missing_modalities(
    source: SessionSource, modalities: list[str], found: list[str], name: str
) -> dict[str, str]:
    """Why each modality the session does not give is missing, naming its files."""
    missing = {}
    for modality, kinds in formats.MODALITY_FILES.items():
        if modality in modalities:
            continue
        present = [f"{name}:{source.members[kind]}" for kind in kinds if source.has(kind)]
        if not present:
            wanted = " or ".join(formats.session_file(source.pid, kind) for kind in kinds)
            missing[modality] = f"{name} has no {wanted}"
            continue
        why = [p for p in found if p.startswith(tuple(present))]
        missing[modality] = "; ".join(why) or f"{', '.join(present)}: no usable data"
    return missing


def open_upload(
    data: bytes,
    filename: str,
    workdir: Path,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
) -> UploadedSession:
    """Check one uploaded session archive and open it as a one-session corpus.

    Parameters
    ----------
    data : bytes
        The uploaded file's contents.
    filename : str
        The name it was uploaded under. ``NNN_P.zip`` gives the participant ID; any other
        name (a browser's ``NNN_P (1).zip``) is fine when the files inside name one ID.
    workdir : pathlib.Path
        A fresh folder the caller owns (created if missing, must be empty); the upload
        is written there as ``NNN_P.zip`` and read from there. Remove it when done.
    max_bytes : int, default MAX_UPLOAD_BYTES
        Largest upload accepted.
    max_unpacked_bytes : int, default MAX_UNPACKED_BYTES
        Largest summed uncompressed size of the session files inside.

    Returns
    -------
    UploadedSession

    Raises
    ------
    DataError
        Named after the uploaded file: it is empty, too large, not a zip archive or a
        damaged one, holds unsafe member paths, no session file or several
        participants' files, would unpack past the guard, or none of its files holds
        usable data. Nothing is left in ``workdir``.
    FileExistsError
        ``workdir`` is not an empty folder (a programming error, not a bad upload).
    """
    name = PurePosixPath(filename.replace("\\", "/")).name or "upload"
    if not data:
        raise DataError(name, "is empty (0 bytes); choose the session's zip archive again")
    if len(data) > max_bytes:
        raise DataError(
            name,
            f"is {_size(len(data))}, over the upload limit of {_size(max_bytes)}: leave "
            "out the files the dashboard does not read (NNN_AUDIO.wav, NNN_CLNF_hog.bin) "
            "and zip the rest",
        )
    workdir = Path(workdir)
    if workdir.exists() and (not workdir.is_dir() or any(workdir.iterdir())):
        raise FileExistsError(f"{workdir} is not an empty folder; give each upload a new one")
    match = SESSION_NAME.match(name)
    with _open_archive(data, name) as archive:
        pid = _check_archive(archive, int(match.group(1)) if match else None, name)
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / f"{formats.session_folder(pid)}.zip"
        try:
            path.write_bytes(data)
            corpus = Corpus(workdir)
            source = corpus.source(pid)
            _check_members(archive, source, name, max_unpacked_bytes)
            modalities, found = check_session(source)
            # Name the upload as the user knows it, not the private copy.
            found = [p.replace(f"{path.name}:", f"{name}:") for p in found]
            if not modalities:
                # A session without modalities always misses or fails a transcript or COVAREP.
                raise DataError(name, "no usable text, audio or face data: " + "; ".join(found))
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    problems = [*source.notes, *known_defects.known_notes(pid), *found]
    missing = _missing_modalities(source, modalities, found, name)
    return UploadedSession(pid, corpus, modalities, problems, name, missing)


def _process_alive(pid: int, started: int) -> bool:
    """Whether process ``pid`` lives and started at ``started`` (ms since the epoch)."""
    try:
        return int(psutil.Process(pid).create_time() * 1000) == started
    except (psutil.Error, ValueError):
        return False


def clear_stale_uploads(base: Path | None = None) -> list[Path]:
    """Remove the uploads folders of server processes that are gone (a killed server).

    Parameters
    ----------
    base : pathlib.Path, optional
        Where the servers' folders are (default: the system's temporary folder).

    Returns
    -------
    list of pathlib.Path
        The folders removed.
    """
    base = Path(base or tempfile.gettempdir())
    removed = []
    for path in base.glob(f"{UPLOADS_PREFIX}*-*"):
        pid, _, started = path.name.removeprefix(UPLOADS_PREFIX).partition("-")
        if not (pid.isdigit() and started.isdigit()) or path.is_symlink():
            continue  # not one of ours
        if not _process_alive(int(pid), int(started)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def server_uploads_folder(base: Path | None = None) -> Path:
    """The uploads folder of the current process, created now; stale ones are removed first.

    Named ``daic-uploads-PID-START`` (process ID and create time in milliseconds) so
    that :func:`clear_stale_uploads` can tell a live server's folder from a killed
    one's; only the owner may enter it, and it is removed when this process exits.

    Parameters
    ----------
    base : pathlib.Path, optional
        Where to create it (default: the system's temporary folder).
    """
    base = Path(base or tempfile.gettempdir())
    clear_stale_uploads(base)
    started = int(psutil.Process(os.getpid()).create_time() * 1000)
    folder = base / f"{UPLOADS_PREFIX}{os.getpid()}-{started}"
    folder.mkdir(mode=0o700, exist_ok=True)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


class UploadFolder:
    """A new private folder for one upload, removed when this object is dropped.

    Keep it in the browser session's state: when the session ends and its state is
    released, the folder goes with it. :meth:`remove` removes it at once (a refused
    upload, or one replaced by the next).

    Parameters
    ----------
    parent : pathlib.Path
        Where to create it (:func:`server_uploads_folder`).
    """

    def __init__(self, parent: Path) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="upload-", dir=parent))
        self._remove = weakref.finalize(self, shutil.rmtree, str(self.path), True)

    def remove(self) -> None:
        """Remove the folder and everything in it now (again: nothing happens)."""
        self._remove()
