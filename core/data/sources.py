"""Where a session's files live: an ``NNN_P/`` folder or an ``NNN_P.zip`` archive.

The corpus is distributed as one zip per session; many users unpack some of them. Both are
read the same way, through :class:`SessionSource`, which also records each file's identity
(path, size, modification time, and the member's CRC inside an archive) for the cache.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from core.data import formats
from core.data.errors import DataError

SESSION_NAME = re.compile(r"^(\d{3,4})_P(\.zip)?$", re.IGNORECASE)
_ID = re.compile(r"\d{3,4}")
_SUFFIX_TO_KIND = {suffix.lower(): kind for kind, suffix in formats.SESSION_FILES.items()}


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
            try:
                return (self.location / self.members[kind]).read_bytes()
            except OSError as error:
                raise DataError(self.display(kind), f"cannot be read ({error})") from None
        try:
            with zipfile.ZipFile(self.location) as archive:
                return archive.read(self.members[kind])
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            raise DataError(
                self.display(kind), f"archive is damaged or truncated ({error})"
            ) from None


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
        identities = {}
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
