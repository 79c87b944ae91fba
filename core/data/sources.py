"""Where a session's files live: an ``NNN_P/`` folder or an ``NNN_P.zip`` archive.

The corpus is distributed as one zip per session; many users unpack some of them. Both are
read the same way, through :class:`SessionSource`, which also records each file's identity
(path, size, modification time, and the member's CRC inside an archive) for the cache.

A process that reads many large files one after another (an extraction worker) can read
them into one reused :class:`ReadBuffer` (:func:`reading_into`) instead of a new
``bytes`` object each time: see :meth:`SessionSource.read_view`.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from core.data import formats
from core.data.errors import DataError, out_of_memory

SESSION_NAME = re.compile(r"^(\d{3,4})_P(\.zip)?$", re.IGNORECASE)
READABLE_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
"""Zip compression methods the data layer reads: what zip tools write by default. Others
(bzip2, LZMA) inflate a whole block at once, however large, so they are refused."""
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA", 9: "deflate64"}
_CHUNK = 1 << 20
_ID = re.compile(r"\d{3,4}")
_SUFFIX_TO_KIND = {suffix.lower(): kind for kind, suffix in formats.SESSION_FILES.items()}


class ReadBuffer:
    """Files read whole into buffers that are reused from session to session.

    Reading a 40 MB COVAREP file into a new ``bytes`` object makes the kernel map and
    zero fresh memory page by page, every time; in a worker that reads one such file per
    session this cost about a sixth of its time (``benchmarks/README.md``). Reading into
    buffers kept from the last session maps their memory once. Until :meth:`release`,
    a file read again is served from its buffer: the cache's hash and the parse of a
    session see the same bytes, read once. Python has no such reader built in (``mmap``
    would avoid the copy, but a file truncated while mapped kills the process with
    SIGBUS), hence this class.
    """

    def __init__(self) -> None:
        self._free: list[bytearray] = []
        self._held: dict[str, tuple[bytearray, memoryview]] = {}

    def read(self, path: Path) -> memoryview:
        """The whole file at ``path``, as a view valid until :meth:`release`.

        Raises
        ------
        OSError
            The file cannot be opened or read.
        """
        key = os.fspath(path)
        if key in self._held:
            return self._held[key][1]
        with open(path, "rb", buffering=0) as handle:
            size = os.fstat(handle.fileno()).st_size
            data = self._take(size + 1)  # one byte of room reveals a file that grew
            got = 0
            while True:
                n = handle.readinto(memoryview(data)[got:])
                if not n:
                    break
                got += n
                if got == len(data):  # the file grew while being read: make room
                    bigger = bytearray(2 * got)
                    bigger[:got] = data
                    data = bigger
        self._held[key] = (data, memoryview(data)[:got])
        return self._held[key][1]

    def _take(self, size: int) -> bytearray:
        """The smallest free buffer of at least ``size`` bytes, else a new one."""
        fits = [b for b in self._free if len(b) >= size]
        if not fits:
            if self._free:  # replace the largest free buffer, so their number stays bounded
                self._free.remove(max(self._free, key=len))
            return bytearray(size)
        best = min(fits, key=len)
        self._free.remove(best)
        return best

    def release(self) -> None:
        """Forget the files read; their buffers serve the next ones (old views go stale)."""
        self._free += [data for data, _ in self._held.values()]
        self._held.clear()


_BUFFER: ContextVar[ReadBuffer | None] = ContextVar("read_buffer", default=None)


def active_buffer() -> ReadBuffer | None:
    """The :class:`ReadBuffer` set by :func:`reading_into` in this thread, if any."""
    return _BUFFER.get()


@contextlib.contextmanager
def reading_into(buffer: ReadBuffer) -> Iterator[None]:
    """Let :meth:`SessionSource.read_view` read into ``buffer`` inside the ``with`` block.

    The setting is a context variable: it holds for the calling thread only, so each
    thread (or worker process) that reads this way owns its buffer. The caller
    releases it (:meth:`ReadBuffer.release`) when the files read are no longer needed.
    """
    token = _BUFFER.set(buffer)
    try:
        yield
    finally:
        _BUFFER.reset(token)


def _is_stray(name: str) -> bool:
    """MacOS resource forks (``._x``) and ``__MACOSX/`` folders are not session files."""
    parts = name.replace("\\", "/").split("/")
    return parts[-1].startswith("._") or "__MACOSX" in parts


@dataclass(frozen=True)
class SessionSource:
    """The files of one session, in a folder or a zip archive.

    Attributes
    ----------
    pid : int
        Participant ID.
    location : pathlib.Path
        The ``NNN_P`` folder or ``NNN_P.zip`` archive.
    members : dict
        File kind (see :data:`core.data.formats.SESSION_FILES`) to the file's path
        relative to ``location`` (or its member name inside the archive).
    notes : tuple of str
        Stray or unexpected files that were found and ignored.
    identities : dict
        File kind to its identity: ``(path, size, mtime)`` in a folder,
        ``(archive, size, mtime, member, CRC-32, member size)`` in an archive; the cache
        keys archive members by their CRC and size, folder files by a hash of their bytes.
    """

    pid: int
    location: Path
    members: dict[str, str]
    notes: tuple[str, ...] = ()
    identities: dict[str, tuple] = field(default_factory=dict)

    @property
    def is_archive(self) -> bool:
        """Whether the session is read from a zip archive."""
        return self.location.suffix.lower() == ".zip"

    def has(self, kind: str) -> bool:
        """Whether the session has a file of this kind."""
        return kind in self.members

    def display(self, kind: str) -> str:
        """A name for the file that a user can find: ``300_P.zip:300_COVAREP.csv``."""
        member = self.members.get(kind, formats.session_file(self.pid, kind))
        sep = ":" if self.is_archive else "/"
        return f"{self.location.name}{sep}{member}"

    def read_view(self, kind: str) -> bytes | memoryview:
        """The contents of one file, read into the current :class:`ReadBuffer` if any.

        Like :meth:`read_bytes`, but inside :func:`reading_into` a folder file is read
        into the buffer (or found there) and a view of it is returned: it is valid until
        the buffer is released, so callers copy what they keep.

        Raises
        ------
        DataError
            The file is missing or unreadable.
        """
        buffer = _BUFFER.get()
        if buffer is None or self.is_archive or kind not in self.members:
            return self.read_bytes(kind)
        path = self.location / self.members[kind]
        try:
            return buffer.read(path)
        except OSError as error:
            raise DataError(self.display(kind), f"cannot be read ({error})") from None
        except MemoryError:
            raise out_of_memory(self.display(kind), _size_or_none(path)) from None

    def read_bytes(self, kind: str) -> bytes:
        """Return the raw contents of one file.

        Raises
        ------
        DataError
            The file is missing, or the archive is truncated or damaged.
        """
        if kind not in self.members:
            raise DataError(self.display(kind), "file is missing from the session")
        if not self.is_archive:
            path = self.location / self.members[kind]
            try:
                return path.read_bytes()
            except OSError as error:
                raise DataError(self.display(kind), f"cannot be read ({error})") from None
            except MemoryError:
                raise out_of_memory(self.display(kind), _size_or_none(path)) from None
        try:
            with zipfile.ZipFile(self.location) as archive:
                return read_member(archive, self.members[kind], self.display(kind))
        except (zipfile.BadZipFile, OSError) as error:  # the archive's directory
            raise DataError(
                self.display(kind), f"archive is damaged or truncated ({error})"
            ) from None


def _size_or_none(path: Path) -> int | None:
    """A file's size in bytes, or None where it cannot be told."""
    try:
        return path.stat().st_size
    except OSError:
        return None


def member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an archive member cannot be read here (encrypted, a method not read), or None.

    Only :data:`READABLE_METHODS` are read: with them, reading stops at the size the
    archive's directory declares (:func:`read_member`), which the other methods cannot
    promise (bzip2 inflates a whole block, up to gigabytes, before handing any of it out).
    """
    if info.flag_bits & 0x1:
        return "is password-protected; zip the session's folder again without a password"
    if info.compress_type not in READABLE_METHODS:
        method = _METHOD_NAMES.get(info.compress_type, "an unusual method")
        return (
            f"uses zip compression method {info.compress_type} ({method}), which the "
            "dashboard does not read (only stored or deflate, what zip tools write by "
            "default): zip the session's folder again with standard (deflate) compression"
        )
    return None


def read_member(archive: zipfile.ZipFile, member: str, display: str) -> bytes:
    """One member of an open archive, read through a stream that stops at its declared size.

    The archive's directory declares each member's size; a damaged or crafted archive
    may declare 5,000 bytes for a member that inflates to gigabytes. The member is read
    in 1 MiB pieces, and reading stops one byte past the declared size, so memory never
    holds more than the declaration (which callers such as
    :func:`core.data.upload.open_upload` bound beforehand) plus one piece.

    Parameters
    ----------
    archive : zipfile.ZipFile
        The open archive.
    member : str
        The member's name in it.
    display : str
        The name to blame (``300_P.zip:300_COVAREP.csv``).

    Returns
    -------
    bytes
        The member's contents, exactly as many bytes as declared.

    Raises
    ------
    DataError
        The member is encrypted or compressed with a method not read here, holds more
        or fewer bytes than declared, fails its CRC check, or is damaged; or reading it
        ran out of memory.
    """
    info = archive.getinfo(member)
    if problem := member_problem(info):
        raise DataError(display, problem)
    declared = info.file_size
    # zipfile stops at the ZipInfo's size and checks the CRC there: declaring two bytes
    # more lets one byte past the declared size show a member that goes on (a member that
    # ends where declared is CRC-checked at its end, as usual)
    probe = copy.copy(info)
    probe.file_size = declared + 2
    pieces: list[bytes] = []
    got = 0
    try:
        with archive.open(probe) as stream:
            while got <= declared and (piece := stream.read(min(_CHUNK, declared + 1 - got))):
                pieces.append(piece)
                got += len(piece)
            if got > declared:
                raise DataError(
                    display,
                    f"inflates to more than the {declared:,} bytes the archive's directory "
                    "declares for it: the archive is damaged or was crafted, so reading "
                    "stopped there; zip the session's folder again",
                )
        if got < declared:
            raise DataError(
                display,
                f"holds {got:,} bytes, fewer than the {declared:,} the archive's directory "
                "declares: the archive is damaged or truncated",
            )
        return b"".join(pieces)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise DataError(display, f"archive is damaged or truncated ({error})") from None
    except MemoryError:
        pieces.clear()
        raise out_of_memory(display, declared) from None


def member_ids(names: list[str]) -> set[int]:
    """Participant IDs of the names that are session files (``300_COVAREP.csv``).

    Folders in the names and stray macOS files are ignored, as :func:`open_session` does.
    """
    ids = set()
    for name in names:
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        head, _, suffix = base.partition("_")
        if not _is_stray(name) and _ID.fullmatch(head) and suffix.lower() in _SUFFIX_TO_KIND:
            ids.add(int(head))
    return ids


def _classify(pid: int, names: list[str]) -> tuple[dict[str, str], list[str]]:
    """Map file names inside a session to kinds; return (members, notes)."""
    members: dict[str, str] = {}
    notes: list[str] = []
    prefix = f"{pid}_".lower()
    for name in sorted(names):
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        if not base:
            continue
        if _is_stray(name):
            notes.append(f"ignored stray macOS file {name}")
            continue
        lower = base.lower()
        kind = _SUFFIX_TO_KIND.get(lower[len(prefix) :]) if lower.startswith(prefix) else None
        if kind is not None and kind not in members:
            members[kind] = name
        elif lower.endswith("_clnf_hog.txt"):
            notes.append(f"{base}: HOG features shipped as .txt instead of .bin (not used)")
    return members, notes


def open_session(location: Path) -> SessionSource:
    """Index one ``NNN_P`` folder or ``NNN_P.zip`` archive.

    Parameters
    ----------
    location : pathlib.Path
        Folder or archive.

    Returns
    -------
    SessionSource

    Raises
    ------
    DataError
        The name is not ``NNN_P`` / ``NNN_P.zip``, or the archive cannot be opened.
    """
    match = SESSION_NAME.match(location.name)
    if not match:
        raise DataError(location.name, "is not a session folder or archive named NNN_P")
    pid = int(match.group(1))
    if location.is_dir():
        paths = [p for p in location.rglob("*") if p.is_file()]
        names = [p.relative_to(location).as_posix() for p in paths]
        members, notes = _classify(pid, names)
        identities: dict[str, tuple] = {}
        for kind, member in members.items():
            stat = (location / member).stat()
            identities[kind] = (f"{location.name}/{member}", stat.st_size, stat.st_mtime_ns)
        return SessionSource(pid, location, members, tuple(notes), identities)
    try:
        with zipfile.ZipFile(location) as archive:
            infos = {info.filename: info for info in archive.infolist() if not info.is_dir()}
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(location.name, f"archive is damaged or truncated ({error})") from None
    members, notes = _classify(pid, list(infos))
    stat = location.stat()
    identities = {
        kind: (
            location.name,
            stat.st_size,
            stat.st_mtime_ns,
            member,
            infos[member].CRC,
            infos[member].file_size,
        )
        for kind, member in members.items()
    }
    return SessionSource(pid, location, members, tuple(notes), identities)


def find_sessions(root: Path) -> dict[int, Path]:
    """Find session folders and archives directly under ``root``.

    A session present both as a folder and as an archive is read from the folder.

    Parameters
    ----------
    root : pathlib.Path
        Corpus root.

    Returns
    -------
    dict
        Participant ID to folder or archive path, sorted by ID.
    """
    found: dict[int, Path] = {}
    for path in sorted(root.iterdir()):
        match = SESSION_NAME.match(path.name)
        if not match or path.name.startswith("._"):
            continue
        is_zip = bool(match.group(2))
        if is_zip and not path.is_file() or not is_zip and not path.is_dir():
            continue
        pid = int(match.group(1))
        if pid not in found or path.is_dir():
            found[pid] = path
    return dict(sorted(found.items()))
