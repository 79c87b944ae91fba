"""The one owner of frame reading: which sessions to extract, from where, and in what order.

:class:`FrameStore` answers "the frames of these participants under these settings".
It decides whether to use the cache (one consolidated entry first, then one entry per
session, then extraction), runs the extractions in parallel, keeps the cache's counters
itself and reports failures as notes; callers never touch the cache or share a dict with
it. Extraction itself is :func:`~core.data.frames.extract_session`.

Sessions are extracted in threads (parsing and numpy release the GIL for much of the
work). When the files still to extract are large (:data:`PROCESS_MIN_BYTES`, a full-size
corpus), the whole per-session work moves to worker processes, one per core: each
thread hands its session to a process and waits, so at most :data:`MAX_WORKERS`
sessions are in flight and memory stays bounded by a few sessions. A worker hashes the
session's files, loads the cache entry or extracts the frames and stores the entry,
reading each file once into buffers it reuses (:class:`~core.data.sources.ReadBuffer`);
this process adopts the worker's hits, misses and file hashes
(:meth:`~core.data.cache.FrameCache.adopt`). Both paths give identical frames and
counts (``tests/data/test_store.py``). Whenever sessions are parsed side by side, each
parse keeps to its own thread (:func:`~core.data.readers.single_threaded`).

Looking up the consolidated cache entry hashes no file
(:meth:`~core.data.cache.FrameCache.load_bundle`): for a corpus read for the first time,
the files are hashed session by session, as each is read, instead of all of them before
the first session can start.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from pathlib import Path

from core.data import readers, sources
from core.data.cache import FrameCache
from core.data.corpus import Corpus
from core.data.errors import DataError
from core.data.frames import FeatureSettings, SessionFrames, extract_session

MAX_WORKERS = 4
"""Most sessions extracted at once (threads; each holds one session's files)."""

PROCESS_MIN_BYTES = 256 * 2**20
"""Size of the files still to extract from which sessions are parsed in processes.

Below it (the bundled sample, test corpora) starting the processes costs more than it
saves; a full-size corpus (10 GB read) is far above it.
"""

Progress = Callable[[int, int], None]


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# --- Worker processes --------------------------------------------------------------------

_WORKER: tuple[Corpus, FeatureSettings, sources.ReadBuffer, FrameCache | None] | None = None


def _start_worker(corpus: Corpus, settings: FeatureSettings, cache_dir: Path | None) -> None:
    global _WORKER
    cache = None if cache_dir is None else FrameCache(cache_dir, store_hashes=False)
    _WORKER = (corpus, settings, sources.ReadBuffer(), cache)


@dataclass
class _Read:
    """What a worker did for one session (a DataError does not pickle: file and problem)."""

    frames: SessionFrames | None = None
    hits: int = 0
    misses: int = 0
    hashes: dict[str, str] = field(default_factory=dict)
    error: tuple[str, str] | None = None


def _read_in_worker(pid: int) -> _Read:
    """One session through the worker's own view of the cache, or its error.

    The worker hashes the session's files, loads the entry or extracts and stores it,
    and hands back the hashes it computed: the main process then only collects frames.
    """
    assert _WORKER is not None
    corpus, settings, buffer, cache = _WORKER
    before = (0, 0) if cache is None else (cache.hits, cache.misses)
    result = _Read()
    try:
        # one thread: the other workers use the other cores; one buffer: a file is read
        # once for its hash and its parse, into memory an earlier session used
        with readers.single_threaded(), sources.reading_into(buffer):
            if cache is None:
                result.frames = extract_session(corpus, pid, settings)
            else:
                result.frames = cache.get(corpus, pid, settings)
    except DataError as error:
        result.error = (error.file, error.problem)
    finally:
        buffer.release()
    if cache is not None:  # a failure counts as in this process: a miss, if it got that far
        result.hits, result.misses = cache.hits - before[0], cache.misses - before[1]
        result.hashes = cache.hashes.take_new()
    return result


@contextlib.contextmanager
def _process_reader(
    corpus: Corpus, settings: FeatureSettings, cache: FrameCache | None, processes: int
) -> Iterator[Callable[[int], SessionFrames]]:
    """A function reading one session (through the cache) in one of ``processes`` workers.

    They start from a forkserver (spawned where there is none), so no lock or thread of
    this process (a Streamlit server's) is inherited; the corpus, settings and cache
    folder reach each worker once. What a worker's cache did is adopted by ``cache``
    (:meth:`~core.data.cache.FrameCache.adopt`), so its counters and remembered hashes
    are those of a read in this process.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context: BaseContext = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["core.data.store"])
    else:  # Windows
        context = multiprocessing.get_context("spawn")
    folder = None if cache is None else cache.directory
    with ProcessPoolExecutor(
        processes, context, initializer=_start_worker, initargs=(corpus, settings, folder)
    ) as pool:
        for _ in range(processes):  # start the workers now
            pool.submit(int)

        def read(pid: int) -> SessionFrames:
            result = pool.submit(_read_in_worker, pid).result()
            if cache is not None:
                cache.adopt(result.hits, result.misses, result.hashes)
            if result.error is not None:
                raise DataError(*result.error)
            assert result.frames is not None
            return result.frames

        yield read


@dataclass
class StoreResult:
    """What :meth:`FrameStore.read` found.

    Attributes
    ----------
    frames : dict
        Participant ID to frames, for every session that could be read.
    failures : dict
        Participant ID to the reason its session could not be read.
    """

    frames: dict[int, SessionFrames] = field(default_factory=dict)
    failures: dict[int, str] = field(default_factory=dict)


class FrameStore:
    """Frames of a corpus under one set of feature settings, read once.

    Parameters
    ----------
    corpus : Corpus
        The corpus.
    settings : FeatureSettings
        What to extract.
    cache : FrameCache or None
        Where frames are kept between runs; None extracts everything afresh.
    """

    def __init__(
        self,
        corpus: Corpus,
        settings: FeatureSettings,
        cache: FrameCache | None = None,
        processes: bool | None = None,
    ) -> None:
        self.corpus = corpus
        self.settings = settings
        self.cache = cache
        self.processes = processes

    def _extract(
        self, pid: int, read: Callable[[int], SessionFrames], concurrent: bool
    ) -> SessionFrames | DataError:
        """One session's frames from ``read``, or the error that stopped it.

        ``concurrent``: other sessions are parsed meanwhile, so this one parses in its
        own thread only (:func:`~core.data.readers.single_threaded`).
        """
        alone = contextlib.nullcontext() if not concurrent else readers.single_threaded()
        try:
            with alone:
                return read(pid)
        except DataError as error:
            return error

    def _read_here(self, pid: int) -> SessionFrames:
        """One session through the cache, in this process."""
        if self.cache is None:
            return extract_session(self.corpus, pid, self.settings)
        return self.cache.get(self.corpus, pid, self.settings)

    def _use_processes(self, todo: list[int]) -> bool:
        if self.processes is not None:
            return self.processes and bool(todo)
        if cores() < 2 or len(todo) < 2:
            return False
        return _bytes_to_read(self.corpus, todo, self.settings) >= PROCESS_MIN_BYTES

    @contextlib.contextmanager
    def _reader(self, todo: list[int]) -> Iterator[tuple[Callable[[int], SessionFrames], int]]:
        """The function reading one session and how many sessions to keep in flight."""
        if not self._use_processes(todo):
            yield self._read_here, min(MAX_WORKERS, cores())
            return
        processes = min(cores(), len(todo))
        with _process_reader(self.corpus, self.settings, self.cache, processes) as read:
            # two sessions per process: one being read, the next queued, so no worker
            # waits for this process to collect a result and hand over the next session
            yield read, min(MAX_WORKERS, 2 * processes)

    def _from_bundle(self, ids: list[int]) -> tuple[dict[int, SessionFrames], list[int]]:
        """Sessions served by the consolidated cache entry, and those still to read."""
        if self.cache is None:
            return {}, ids
        try:
            bundle = self.cache.load_bundle(self.corpus, ids, self.settings)
        except (DataError, OSError):  # a session without files: the per-session path says
            bundle = None
        return bundle if bundle is not None else ({}, ids)

    def read(self, ids: Sequence[int], progress: Progress | None = None) -> StoreResult:
        """The frames of ``ids``, from the cache where it has them.

        Parameters
        ----------
        ids : sequence of int
            Participants, in the order progress is reported.
        progress : callable, optional
            Called as ``progress(done, total)`` after each participant.

        Returns
        -------
        StoreResult
            Frames of the sessions read, and why the others failed.
        """
        ids = list(ids)
        frames, todo = self._from_bundle(ids)
        result = StoreResult(frames=dict(frames))
        done = len(frames)
        with self._reader(todo) as (read_one, in_flight), _threads(in_flight) as pool:
            concurrent = in_flight > 1 and len(todo) > 1
            reads = pool.map(lambda pid: self._extract(pid, read_one, concurrent), todo)
            for pid, read in zip(todo, reads, strict=True):
                if isinstance(read, DataError):
                    result.failures[pid] = str(read)
                else:
                    result.frames[pid] = read
                done += 1
                if progress is not None:
                    progress(done, len(ids))
        if self.cache is not None and todo:
            with contextlib.suppress(OSError):
                self.cache.hashes.flush()  # what the per-session entries left to store
        if self.cache is not None and len(result.frames) > len(ids) - len(todo):
            kept = {p: result.frames[p] for p in ids if p in result.frames}
            with contextlib.suppress(DataError, OSError):  # a full disk loses no frames read
                self.cache.save_bundle(self.corpus, ids, self.settings, kept)
        if progress is not None and not todo:
            progress(len(ids), len(ids))
        return result


def _threads(workers: int) -> Executor:
    return ThreadPoolExecutor(max_workers=max(1, workers))


def _bytes_to_read(corpus: Corpus, ids: list[int], settings: FeatureSettings) -> int:
    """Size of the files the extraction of ``ids`` reads (from the index: no file opened)."""
    total = 0
    for pid in ids:
        source = corpus.participants[pid].source if pid in corpus.participants else None
        if source is None:
            continue
        for kind in settings.file_kinds():
            identity = source.identities.get(kind)
            if identity:
                total += int(identity[-1] if source.is_archive else identity[1])
    return total
