"""The one owner of frame reading: which sessions to extract, from where, and in what order.

:class:`FrameStore` answers "the frames of these participants under these settings".
It decides whether to use the cache (one consolidated entry first, then one entry per
session, then extraction), runs the extractions in parallel, keeps the cache's counters
itself and reports failures as notes; callers never touch the cache or share a dict with
it. Extraction itself is :func:`~core.data.frames.extract_session`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from core.data.cache import FrameCache
from core.data.corpus import Corpus
from core.data.errors import DataError
from core.data.frames import FeatureSettings, SessionFrames, extract_session

MAX_WORKERS = 4
"""Most sessions extracted at once (threads; each holds one session's files)."""

Progress = Callable[[int, int], None]


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
        self, corpus: Corpus, settings: FeatureSettings, cache: FrameCache | None = None
    ) -> None:
        self.corpus = corpus
        self.settings = settings
        self.cache = cache

    def _extract(self, pid: int) -> SessionFrames | DataError:
        """One session's frames through the cache, or the error that stopped it."""
        try:
            if self.cache is None:
                return extract_session(self.corpus, pid, self.settings)
            return self.cache.get(self.corpus, pid, self.settings, extract=extract_session)
        except DataError as error:
            return error

    def _from_bundle(self, ids: list[int]) -> tuple[dict[int, SessionFrames], list[int]]:
        """Sessions served by the consolidated cache entry, and those still to read."""
        if self.cache is None:
            return {}, ids
        try:
            bundle = self.cache.load_bundle(self.corpus, ids, self.settings)
        except DataError:  # a session without files: the per-session path reports it
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
        # Parsing (pyarrow) and the numpy work release the GIL, so sessions overlap in
        # threads; each worker holds one session's files in memory.
        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, os.cpu_count() or 1)) as pool:
            for pid, read in zip(todo, pool.map(self._extract, todo), strict=True):
                if isinstance(read, DataError):
                    result.failures[pid] = str(read)
                else:
                    result.frames[pid] = read
                done += 1
                if progress is not None:
                    progress(done, len(ids))
        if self.cache is not None and len(result.frames) > len(ids) - len(todo):
            kept = {p: result.frames[p] for p in ids if p in result.frames}
            with contextlib.suppress(DataError):
                self.cache.save_bundle(self.corpus, ids, self.settings, kept)
        if progress is not None and not todo:
            progress(len(ids), len(ids))
        return result
