"""The frame store: one owner for reading frames, whichever path serves them."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.data.cache import FrameCache
from core.data.corpus import Corpus
from core.data.frames import FeatureSettings
from core.data.store import FrameStore

SETTINGS = FeatureSettings(("covarep",))


def _same(a, b) -> None:
    assert a.frames.keys() == b.frames.keys() and a.failures == b.failures
    for pid, frames in a.frames.items():
        np.testing.assert_array_equal(frames.values, b.frames[pid].values)
        np.testing.assert_array_equal(frames.times, b.frames[pid].times)
        assert frames.notes == b.frames[pid].notes


def test_extraction_per_session_entries_and_the_bundle_give_identical_frames(daic, tmp_path):
    root = daic.corpus(tmp_path / "corpus", train=(300, 301, 302), dev=(303,), test=(304,))
    (root / "302_P" / "302_COVAREP.csv").write_text("1,2,3\n")  # fails, and is retried
    corpus = Corpus(root)
    ids = corpus.ids()
    plain = FrameStore(corpus, SETTINGS).read(ids)
    assert list(plain.failures) == [302] and "302_COVAREP.csv" in plain.failures[302]
    cache = FrameCache(tmp_path / "cache")
    first = FrameStore(corpus, SETTINGS, cache).read(ids)  # extracted, then bundled
    assert (cache.hits, cache.misses) == (0, 5)
    bundled = FrameStore(corpus, SETTINGS, cache).read(ids)  # the consolidated entry
    assert cache.hits == 4  # counted by the cache itself; 302 was tried again
    for bundle in cache.directory.glob("bundle-*.npz"):
        bundle.unlink()
    per_session = FrameStore(corpus, SETTINGS, cache).read(ids)
    for other in (first, bundled, per_session):
        _same(plain, other)


def test_progress_reaches_the_total(daic, tmp_path):
    corpus = Corpus(daic.corpus(tmp_path / "corpus"))
    seen = []
    FrameStore(corpus, SETTINGS).read(corpus.ids(), lambda done, total: seen.append((done, total)))
    assert seen[-1] == (len(corpus.ids()), len(corpus.ids()))


@pytest.mark.slow
def test_worker_processes_give_the_frames_of_the_sequential_path(daic, tmp_path):
    root = daic.corpus(tmp_path / "corpus", train=(300, 301, 302), dev=(303,), test=(304,))
    (root / "302_P" / "302_COVAREP.csv").write_text("1,2,3\n")  # fails in a worker too
    corpus = Corpus(root)
    ids = corpus.ids()
    for settings in (SETTINGS, FeatureSettings(("aus", "landmarks"))):
        plain = FrameStore(corpus, settings, processes=False).read(ids)
        parallel = FrameStore(corpus, settings, processes=True).read(ids)
        _same(plain, parallel)
        assert len(parallel.frames) >= 4
        if settings.family == "covarep":
            assert list(parallel.failures) == [302] and "302_COVAREP" in parallel.failures[302]
    cache = FrameCache(tmp_path / "cache")  # the cache is written by this process
    cached = FrameStore(corpus, SETTINGS, cache, processes=True).read(ids)
    assert (cache.hits, cache.misses) == (0, 5)
    _same(FrameStore(corpus, SETTINGS).read(ids), cached)


@pytest.mark.slow
def test_worker_processes_hash_read_and_store_like_this_process(daic, tmp_path):
    root = daic.corpus(tmp_path / "corpus", train=(300, 301), dev=(302,), test=(303,))
    corpus = Corpus(root)
    ids = corpus.ids()
    cache = FrameCache(tmp_path / "cache")
    first = FrameStore(corpus, SETTINGS, cache, processes=True).read(ids)
    assert (cache.hits, cache.misses) == (0, len(ids))
    stored = FrameCache(tmp_path / "cache")  # what the workers hashed was stored here
    assert stored.bundle_path(corpus, ids, SETTINGS, compute=False) is not None

    shutil.copytree(root, tmp_path / "copy")  # new paths: hashed again, found by content
    copied = Corpus(tmp_path / "copy")
    again = FrameCache(tmp_path / "cache")
    served = FrameStore(copied, SETTINGS, again, processes=True).read(ids)
    assert (again.hits, again.misses) == (len(ids), 0)
    _same(first, served)
    assert FrameCache(tmp_path / "cache").bundle_path(copied, ids, SETTINGS, compute=False)
