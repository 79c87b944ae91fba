"""The one owner of frame reading: which sessions to extract, from where, and in what order.

:class:`FrameStore` answers "the frames of these participants under these settings".
It decides whether to use the cache (one consolidated entry first, then one entry per
session, then extraction), runs the extractions in parallel, keeps the cache's counters
itself and reports failures as notes; callers never touch the cache or share a dict with
it. Extraction itself is :func:`~core.data.frames.extract_session`.

Sessions are extracted in threads (parsing and numpy release the GIL for much of the
work). When the files still to extract are large (:data:`PROCESS_MIN_BYTES`, a full-size
corpus), the parsing moves to worker processes, one per core: each thread then hands its
session to a process and waits, so at most :data:`MAX_WORKERS` sessions are in flight
and memory stays bounded by a few sessions. Both paths give identical frames
(``tests/data/test_store.py``). Whenever sessions are parsed side by side, each parse
keeps to its own thread (:func:`~core.data.readers.single_threaded`).

Looking up the consolidated cache entry hashes no file
(:meth:`~core.data.cache.FrameCache.load_bundle`): for a corpus read for the first time,
the files are hashed session by session by the threads, while the worker processes
parse, instead of all of them before the first session can start.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field

from core.data import readers, sources
from core.data.cache import Extractor, FrameCache
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

_WORKER: tuple[Corpus, FeatureSettings, sources.ReadBuffer] | None = None


def _start_worker(corpus: Corpus, settings: FeatureSettings) -> None:
    global _WORKER
    _WORKER = (corpus, settings, sources.ReadBuffer())


def _extract_in_worker(pid: int) -> SessionFrames | tuple[str, str]:
    """One session's frames, or the failing file and problem (DataError does not pickle)."""
    assert _WORKER is not None
    corpus, settings, buffer = _WORKER
    try:
        # one thread: the other workers use the other cores; one buffer: a worker reads
        # a session's large file into the memory the last session's used
        with readers.single_threaded(), sources.reading_into(buffer):
            return extract_session(corpus, pid, settings)
    except DataError as error:
        return error.file, error.problem


@contextlib.contextmanager
def _process_extractor(
    corpus: Corpus, settings: FeatureSettings, processes: int
) -> Iterator[Extractor]:
    """An extractor that parses in ``processes`` worker processes.

    They start from a forkserver (spawned where there is none), so no lock or thread of
    this process (a Streamlit server's) is inherited; the corpus and settings reach each
    worker once.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["core.data.store"])
    else:  # Windows
        context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        processes, context, initializer=_start_worker, initargs=(corpus, settings)
    ) as pool:
        for _ in range(processes):  # start the workers now, while the caller hashes files
            pool.submit(int)

        def extract(_corpus: Corpus, pid: int, _settings: FeatureSettings) -> SessionFrames:
            result = pool.submit(_extract_in_worker, pid).result()
            if isinstance(result, tuple):
                raise DataError(*result)
            return result

        yield extract


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

    def _extract(self, pid: int, extract: Extractor, concurrent: bool) -> SessionFrames | DataError:
        """One session's frames through the cache, or the error that stopped it.

        ``concurrent``: other sessions are parsed meanwhile, so this one parses in its
        own thread only (:func:`~core.data.readers.single_threaded`).
        """
        alone = contextlib.nullcontext() if not concurrent else readers.single_threaded()
        try:
            with alone:
                if self.cache is None:
                    return extract(self.corpus, pid, self.settings)
                return self.cache.get(self.corpus, pid, self.settings, extract=extract)
        except DataError as error:
            return error

    def _use_processes(self, todo: list[int]) -> bool:
        if self.processes is not None:
            return self.processes and bool(todo)
        if cores() < 2 or len(todo) < 2:
            return False
        return _bytes_to_read(self.corpus, todo, self.settings) >= PROCESS_MIN_BYTES

    @contextlib.contextmanager
    def _extractor(self, todo: list[int]) -> Iterator[tuple[Extractor, int]]:
        """The extraction function and how many sessions to keep in flight."""
        if not self._use_processes(todo):
            yield extract_session, min(MAX_WORKERS, cores())
            return
        processes = min(cores(), len(todo))
        with _process_extractor(self.corpus, self.settings, processes) as extract:
            # two sessions per process: one parsing, the next queued while this process's
            # thread hashes and stores the last one, so no worker waits
            yield extract, min(MAX_WORKERS, 2 * processes)

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
        with self._extractor(todo) as (extract, in_flight), _threads(in_flight) as pool:
            concurrent = in_flight > 1 and len(todo) > 1
            reads = pool.map(lambda pid: self._extract(pid, extract, concurrent), todo)
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
