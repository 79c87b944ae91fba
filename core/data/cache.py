"""A disk cache of extracted session frames, so a corpus is parsed once.

Each entry is one session's :class:`~core.data.frames.SessionFrames` for one set of
:class:`~core.data.frames.FeatureSettings`, keyed by the SHA-256 of

- the *content* of every file the extraction reads (:meth:`FeatureSettings.file_kinds`):
  a 128-bit XXH3 hash of a folder file's bytes (remembered per path, size, modification
  time and inode by :class:`ContentHashes`, so a warm reload hashes nothing), or an
  archive member's CRC-32 and size; two corpora whose files share a name, size and date
  but not their numbers never share an entry, and a copied corpus reuses the original's,
- the settings that change the frames (:meth:`FeatureSettings.relevant`),
- :data:`CACHE_VERSION`, bumped whenever the extraction code changes its output,
- the session's known defects (transcript offset, interrupted span).

An edited or replaced file, a changed setting or a new version therefore misses. Entries
are ``.npz`` files of plain arrays, written atomically (temporary file, then
``os.replace``) and read with ``allow_pickle=False``: the cache never unpickles anything.

Reloading a whole corpus file by file costs one ``np.load`` per session; on top of that,
:meth:`FrameCache.save_bundle` keeps one consolidated entry per (set of sessions,
settings), keyed by all their keys, so a warm reload is a single read: an ``.npz`` of
the small arrays (IDs, bounds, times, names, notes) and a ``.values.npy`` of every
session's frame values, which is memory-mapped rather than read (a full-size corpus's
250 MB of audio frames are not copied into new memory; the windows cut from them are).
Extraction errors are never cached: sessions that failed are tried again on every load.

Entries for old settings or old files are not deleted automatically; :meth:`clear`
empties the directory.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, overload

import numpy as np
import xxhash

from core.data import known_defects, sources, storage
from core.data.corpus import Corpus
from core.data.frames import FeatureSettings, SessionFrames, extract_session
from core.data.sources import SessionSource
from core.files import atomic_write

if TYPE_CHECKING:
    from _hashlib import _HashObject  # typeshed's protocol of a hashlib-like hasher

CACHE_VERSION = 4
"""Bump whenever :mod:`core.data.frames` or :mod:`core.data.gate` change their output."""

CACHE_ENV = storage.CACHE_ENV

Extractor = Callable[[Corpus, int, FeatureSettings], SessionFrames]


def default_directory() -> Path:
    """``$DAIC_CACHE_DIR`` if set, else ``frames/`` in the per-user folder.

    See :func:`core.data.storage.frames_dir`: ``~/.cache/daic-dashboard/frames`` unless
    ``$XDG_CACHE_HOME`` says otherwise; ``python -m core.data clear-cache`` empties it.
    """
    return storage.frames_dir()


def _digest(payload: object) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _write_atomic(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Create ``path`` with ``write(handle)`` atomically (readers never see a partial file).

    :func:`core.files.atomic_write` without fsync: the cache can be rebuilt, and its
    writes are large.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write, binary=True, durable=False)


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` as an ``.npz``, atomically."""
    # numpy's stub checks **arrays against savez's allow_pickle: bool (no key here is that)
    _write_atomic(path, lambda handle: np.savez(handle, **arrays))  # type: ignore[arg-type]


def _write_rows(path: Path, blocks: Sequence[np.ndarray], width: int) -> None:
    """Write float32 row blocks as one ``(n, width)`` ``.npy`` file, atomically.

    Block by block: the blocks are never concatenated in memory.
    """
    total = sum(len(block) for block in blocks)

    def write(handle: BinaryIO) -> None:
        header = {"descr": "<f4", "fortran_order": False, "shape": (total, width)}
        np.lib.format.write_array_header_1_0(handle, header)
        for block in blocks:
            if len(block):
                handle.write(np.ascontiguousarray(block, dtype="<f4").reshape(-1, width).data)

    _write_atomic(path, write)


def _map_rows(path: Path, shape: tuple[int, int]) -> np.ndarray | None:
    """A read-only float32 array of ``shape`` mapped from a :func:`_write_rows` file.

    None if the file is missing, damaged or of another shape. Mapped, not read: the
    pages come from the page cache as they are used, and no copy is made.
    """
    if shape[0] == 0:
        return np.empty(shape, np.float32)
    try:
        rows = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        path.unlink(missing_ok=True)  # damaged: extract again
        return None
    if rows.shape != shape or rows.dtype != np.float32:
        return None
    return rows


def _read_npz(path: Path) -> dict[str, np.ndarray] | None:
    """Read every array of an ``.npz`` written here; None if missing or damaged."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        path.unlink(missing_ok=True)  # damaged: extract again
        return None


def _strings(items: Sequence[str]) -> np.ndarray:
    return np.array(list(items), dtype=np.str_).reshape(-1)


_UNKNOWN = ["unknown"]
"""A folder file's identity while its hash is not remembered (keys made without hashing)."""

HASHES_FILE = "content-hashes.npz"
"""Where a cache remembers the hashes of the folder files it has read."""

CONTENT_HASH = "xxh3_128"
"""The hash that identifies a folder file's bytes in cache keys and new fingerprints.

XXH3 (the ``xxhash`` package) hashed a 43 MB COVAREP file at 21 GB/s on one core here,
SHA-1, the fastest ``hashlib`` digest, at 1.9 GB/s: at those rates a full-size corpus
(10.8 GB read) costs about 0.5 s of hashing instead of 6 s. It is an identity, not a security
measure. SHA-1 stays available for fingerprints recorded before (:data:`HASHES`).
"""

HASHES: dict[str, Callable[..., _HashObject]] = {"xxh3_128": xxhash.xxh3_128, "sha1": hashlib.sha1}
"""Hashes :meth:`ContentHashes.digest` can compute, by name."""


class ContentHashes:
    """Hashes of file contents, remembered by (hash, path, size, mtime, inode).

    Hashing a 20 GB corpus on every reload would cost more than reading the cache, so a
    file's hash is computed once and reused while its path, size, modification time and
    inode stay the same; a file at another path (another corpus) is always hashed. The
    memory is one ``.npz`` of two string arrays, merged and rewritten atomically; an
    entry written before hashes were named (no ``name|`` prefix) is a SHA-1.

    Parameters
    ----------
    path : pathlib.Path
        The ``.npz`` file.
    store : bool, default True
        False: never write the file (an extraction worker hands what it computed to
        the process that owns it, :meth:`take_new` and :meth:`adopt`).
    """

    def __init__(self, path: Path, store: bool = True) -> None:
        self.path = path
        self.store = store
        self._known: dict[str, str] | None = None
        self._new: dict[str, str] = {}
        self._lock = threading.Lock()
        self._flushed = -float("inf")  # monotonic time of the last flush

    def _stored(self) -> dict[str, str]:
        data = _read_npz(self.path) or {}
        try:
            pairs = zip(map(str, data["ids"]), map(str, data["digests"]), strict=True)
            return {(i if i.split("|", 1)[0] in HASHES else f"sha1|{i}"): d for i, d in pairs}
        except (KeyError, ValueError):  # absent or damaged: hash again
            return {}

    @staticmethod
    def _ident(file: Path, name: str) -> str:
        stat = file.stat()
        return f"{name}|{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"

    def digest(self, file: Path, compute: bool = True, name: str = CONTENT_HASH) -> str | None:
        """The hex digest of ``file``'s bytes under the hash ``name`` (see :data:`HASHES`).

        With ``compute=False``, None when the hash is not remembered (nothing is read).

        Raises
        ------
        KeyError
            An unknown hash name.
        """
        factory = HASHES[name]
        ident = self._ident(file, name)
        with self._lock:
            if self._known is None:
                self._known = self._stored()
            if ident in self._known:
                return self._known[ident]
        if not compute:
            return None
        buffer = sources.active_buffer()
        if buffer is not None:  # read once: the extraction that follows finds it there
            digest = factory(buffer.read(file)).hexdigest()
        else:
            with open(file, "rb") as handle:
                digest = hashlib.file_digest(handle, factory).hexdigest()
        with self._lock:
            self._known[ident] = self._new[ident] = digest
        return digest

    def take_new(self) -> dict[str, str]:
        """The hashes computed since the last call (or flush), forgotten as new."""
        with self._lock:
            new, self._new = self._new, {}
        return new

    def adopt(self, hashes: dict[str, str]) -> None:
        """Remember hashes another process computed (:meth:`take_new`), to be stored."""
        with self._lock:
            if self._known is None:
                self._known = self._stored()
            self._known.update(hashes)
            self._new.update(hashes)

    def flush(self, unless_within_s: float = 0.0) -> None:
        """Store the hashes computed since the last flush (merged with other writers').

        Parameters
        ----------
        unless_within_s : float, default 0
            Skip if the last flush was less than this many seconds ago. Each flush
            rewrites the whole file, so flushing after every session of a full-size
            corpus would cost about a second; hashes not yet stored are only computed
            again after a crash.
        """
        with self._lock:
            now = time.monotonic()
            if not self.store or not self._new or now - self._flushed < unless_within_s:
                return
            merged = {**self._stored(), **self._new}
            self._new = {}
            self._flushed = now
        _write_npz(
            self.path,
            {"ids": _strings(list(merged)), "digests": _strings(list(merged.values()))},
        )


def _rows_path(bundle: Path) -> Path:
    """The ``.npy`` beside a consolidated entry that holds its frame values."""
    return bundle.with_name(f"{bundle.stem}.values.npy")


class FrameCache:
    """Session frames cached as ``.npz`` files under one directory.

    Parameters
    ----------
    directory : str or pathlib.Path, optional
        Where entries live; default :func:`default_directory`.
    store_hashes : bool, default True
        False: file hashes computed here are handed over (:meth:`adopt`), not stored;
        for the caches of extraction workers.

    Attributes
    ----------
    hits, misses : int
        Sessions served from the cache / extracted since this object was made.
    """

    def __init__(self, directory: str | Path | None = None, store_hashes: bool = True) -> None:
        self.directory = Path(directory).expanduser() if directory else default_directory()
        self.hits = 0
        self.misses = 0
        self.hashes = ContentHashes(self.directory / HASHES_FILE, store=store_hashes)

    def adopt(self, hits: int, misses: int, hashes: dict[str, str]) -> None:
        """Take in what another process's cache did.

        Adds its hits and misses, and remembers the file hashes it computed
        (:meth:`ContentHashes.take_new`).
        """
        self.hits += hits
        self.misses += misses
        self.hashes.adopt(hashes)
        self.hashes.flush(unless_within_s=2.0)  # as save() does

    # --- keys ----------------------------------------------------------------------------

    @overload
    def key(
        self, corpus: Corpus, pid: int, settings: FeatureSettings, compute: Literal[True] = True
    ) -> str: ...
    @overload
    def key(
        self, corpus: Corpus, pid: int, settings: FeatureSettings, compute: bool
    ) -> str | None: ...
    def key(
        self, corpus: Corpus, pid: int, settings: FeatureSettings, compute: bool = True
    ) -> str | None:
        """The entry key of one session under ``settings`` (a SHA-256 hex digest).

        With ``compute=False``, None when a folder file's hash is not remembered yet:
        the key is then not made, and nothing is read.
        """
        source = corpus.source(pid)
        files = {}
        for kind in settings.file_kinds():
            files[kind] = self._content(source, kind, compute)
            if files[kind] is _UNKNOWN:
                return None
        payload = {
            "version": CACHE_VERSION,
            "pid": int(pid),
            "settings": settings.relevant(),
            "files": files,
            "offset": known_defects.transcript_offset(pid),
            "interruption": known_defects.interruption(pid),
        }
        return _digest(payload)

    def _content(self, source: SessionSource, kind: str, compute: bool) -> list | None:
        """What identifies a file's bytes: an archive member's CRC-32 and size, or a hash."""
        if kind not in source.members:
            return None
        if source.is_archive:
            return ["crc32", *source.identities[kind][-2:]]
        digest = self.hashes.digest(source.location / source.members[kind], compute)
        return _UNKNOWN if digest is None else [CONTENT_HASH, digest]

    def path(self, pid: int, settings: FeatureSettings, key: str) -> Path:
        """Where the entry with ``key`` lives."""
        return self.directory / f"{pid}-{settings.family}-{key[:32]}.npz"

    # --- one session ---------------------------------------------------------------------

    def load(self, corpus: Corpus, pid: int, settings: FeatureSettings) -> SessionFrames | None:
        """The cached frames of one session, or None on a miss."""
        key = self.key(corpus, pid, settings)
        data = _read_npz(self.path(pid, settings, key))
        if data is None or str(data["key"]) != key:
            return None
        return SessionFrames(
            times=data["times"],
            values=data["values"],
            feature_names=[str(n) for n in data["feature_names"]],
            notes=[str(n) for n in data["notes"]],
        )

    def save(
        self, corpus: Corpus, pid: int, settings: FeatureSettings, frames: SessionFrames
    ) -> Path:
        """Store one session's frames; return the entry's path."""
        key = self.key(corpus, pid, settings)
        path = self.path(pid, settings, key)
        self.hashes.flush(unless_within_s=2.0)
        _write_npz(
            path,
            {
                "key": np.array(key),
                "times": np.asarray(frames.times, np.float32),
                "values": np.asarray(frames.values, np.float32),
                "feature_names": _strings(frames.feature_names),
                "notes": _strings(frames.notes),
            },
        )
        return path

    def get(
        self,
        corpus: Corpus,
        pid: int,
        settings: FeatureSettings,
        extract: Extractor = extract_session,
    ) -> SessionFrames:
        """Cached frames of one session, extracting and storing them on a miss.

        Raises
        ------
        DataError
            From ``extract``; failures are not cached.
        """
        frames = self.load(corpus, pid, settings)
        if frames is not None:
            self.hits += 1
            return frames
        self.misses += 1
        frames = extract(corpus, pid, settings)
        self.save(corpus, pid, settings, frames)
        return frames

    # --- many sessions at once -------------------------------------------------------------

    @overload
    def bundle_path(
        self,
        corpus: Corpus,
        pids: Sequence[int],
        settings: FeatureSettings,
        compute: Literal[True] = True,
    ) -> Path: ...
    @overload
    def bundle_path(
        self, corpus: Corpus, pids: Sequence[int], settings: FeatureSettings, compute: bool
    ) -> Path | None: ...
    def bundle_path(
        self, corpus: Corpus, pids: Sequence[int], settings: FeatureSettings, compute: bool = True
    ) -> Path | None:
        """Where the consolidated entry of ``pids`` under ``settings`` lives.

        The entry belongs to the *set* of sessions: the folds of an experiment read the
        same participants split differently, in another order, and share one entry.
        With ``compute=False``, None when a file would have to be hashed to say.
        """
        keys = []
        for pid in sorted(set(map(int, pids))):
            keys.append(self.key(corpus, pid, settings, compute))
            if keys[-1] is None:
                return None
        return self.directory / f"bundle-{settings.family}-{_digest(keys)[:32]}.npz"

    def load_bundle(
        self, corpus: Corpus, pids: Sequence[int], settings: FeatureSettings
    ) -> tuple[dict[int, SessionFrames], list[int]] | None:
        """Every session's frames from one consolidated entry, or None on a miss.

        Looking hashes nothing: a corpus whose files were never hashed has no entry under
        its keys unless a copy of it was read before, and then the per-session entries
        serve it just the same (hashed session by session, while other sessions parse).

        Returns
        -------
        frames : dict
            Participant ID to frames, for the sessions that were read.
        failed : list of int
            Sessions whose extraction failed when the entry was written; errors are not
            cached (a permission fixed without touching the file would go unseen), so the
            caller tries these again.
        """
        pids = sorted(set(map(int, pids)))
        path = self.bundle_path(corpus, pids, settings, compute=False)
        if path is None:
            return None
        data = _read_npz(path)
        if data is None or [int(p) for p in data["pids"]] != pids:
            return None
        names = [str(n) for n in data["feature_names"]]
        notes = json.loads(str(data["notes"]))
        failed = [int(pid) for pid in data["failed"]]
        bounds = data["bounds"]  # (P + 1,)
        values = _map_rows(_rows_path(path), (int(bounds[-1]), len(names)))  # (N, F)
        if values is None:
            return None
        frames = {}
        for i, pid in enumerate(pids):
            if int(pid) in failed:
                continue
            a, b = int(bounds[i]), int(bounds[i + 1])
            frames[int(pid)] = SessionFrames(
                data["times"][a:b], values[a:b], list(names), list(notes[i])
            )
        self.hits += len(frames)
        return frames, failed

    def save_bundle(
        self,
        corpus: Corpus,
        pids: Sequence[int],
        settings: FeatureSettings,
        frames: dict[int, SessionFrames],
    ) -> Path | None:
        """Store several sessions' frames as one entry (IDs missing from ``frames`` failed).

        Nothing is stored when no session was read or the sessions disagree on feature
        names.
        """
        names = {tuple(f.feature_names) for f in frames.values()}
        if len(names) != 1:
            return None
        pids = sorted(set(map(int, pids)))  # the entry belongs to the set (bundle_path)
        empty = SessionFrames(np.empty(0, np.float32), np.empty((0, 0), np.float32), [])
        kept = [frames.get(pid, empty) for pid in pids]
        width = len(next(iter(names)))
        path = self.bundle_path(corpus, pids, settings)
        self.hashes.flush()
        _write_rows(_rows_path(path), [f.values for f in kept], width)  # first: see load
        _write_npz(
            path,
            {
                "pids": np.array(pids, np.int64),
                "bounds": np.concatenate([[0], np.cumsum([len(f) for f in kept])]).astype(np.int64),
                "times": np.concatenate([f.times for f in kept]).astype(np.float32),
                "feature_names": _strings(names.pop()),
                "notes": np.array(json.dumps([f.notes for f in kept])),
                "failed": np.array([p for p in pids if p not in frames], np.int64),
            },
        )
        return path

    def clear(self) -> int:
        """Delete every entry under the directory; return how many were removed."""
        removed = 0
        if self.directory.is_dir():
            for path in [*self.directory.glob("*.npz"), *self.directory.glob("*.npy")]:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
