from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.data import cache as cache_module
from core.data import formats, store
from core.data.cache import FrameCache, default_directory
from core.data.corpus import Corpus
from core.data.features import FeatureSettings, WindowSettings, load_windows

SETTINGS = FeatureSettings(("covarep",))


def make_corpus(root: Path) -> Corpus:
    """Two training and one dev participant, 3 s of COVAREP each, with transcripts."""
    labels = {formats.TRAIN_LABELS: [(900, 0), (901, 1)], formats.DEV_LABELS: [(902, 1)]}
    for name, rows in labels.items():
        lines = [",".join(formats.TRAIN_DEV_LABEL_COLUMNS)]
        lines += [",".join(map(str, [pid, b, 12 * b, 1] + [0] * 8)) for pid, b in rows]
        (root / name).write_text("\n".join(lines) + "\n")
    rng = np.random.default_rng(0)
    for pid in (900, 901, 902):
        folder = root / f"{pid}_P"
        folder.mkdir()
        x = np.round(rng.normal(1.0, 0.2, (300, 74)), 3)
        x[:, 1] = 1.0
        text = "\n".join(",".join(f"{v:g}" for v in row) for row in x) + "\n"
        (folder / f"{pid}_COVAREP.csv").write_text(text)
        (folder / f"{pid}_TRANSCRIPT.csv").write_text(
            "start_time\tstop_time\tspeaker\tvalue\n0.0\t0.5\tEllie\thi\n0.5\t3.0\tParticipant\tok\n"
        )
    return Corpus(root)


@pytest.fixture
def corpus(tmp_path):
    (tmp_path / "corpus").mkdir()
    return make_corpus(tmp_path / "corpus")


def failing(*args, **kwargs):
    raise AssertionError("the extractor ran although the cache should have answered")


def test_second_load_is_served_by_the_cache(corpus, tmp_path, monkeypatch):
    cache = FrameCache(tmp_path / "cache")
    first, norm1, _ = load_windows(corpus, SETTINGS, cache=cache)
    assert cache.misses == 3 and cache.hits == 0
    monkeypatch.setattr(store, "extract_session", failing)
    second, norm2, _ = load_windows(corpus, SETTINGS, cache=cache)  # consolidated entry
    assert cache.hits == 3
    for split in first:
        np.testing.assert_array_equal(first[split].x, second[split].x)
        np.testing.assert_array_equal(first[split].participant_ids, second[split].participant_ids)
    np.testing.assert_array_equal(norm1.mean_, norm2.mean_)
    # without the consolidated entry, the per-session entries answer
    for bundle in (tmp_path / "cache").glob("bundle-*.npz"):
        bundle.unlink()
    third, _, _ = load_windows(corpus, SETTINGS, cache=FrameCache(tmp_path / "cache"))
    np.testing.assert_array_equal(first["train"].x, third["train"].x)


def test_a_copied_corpus_is_served_session_by_session_and_hashed_once(corpus, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(corpus.root, copy)
    cache, ids = FrameCache(tmp_path / "cache"), [900, 901, 902]
    load_windows(corpus, SETTINGS, cache=cache)
    copied = Corpus(copy)
    assert cache.bundle_path(corpus, ids, SETTINGS, compute=False) is not None
    assert cache.bundle_path(copied, ids, SETTINGS, compute=False) is None  # never hashed

    again = FrameCache(tmp_path / "cache")
    served, _, _ = load_windows(copied, SETTINGS, cache=again)
    assert (again.hits, again.misses) == (3, 0)  # the original's entries, found by content
    assert again.bundle_path(copied, ids, SETTINGS, compute=False) is not None  # remembered
    fresh, _, _ = load_windows(copied, SETTINGS, cache=None)
    np.testing.assert_array_equal(served["train"].x, fresh["train"].x)


def test_files_are_hashed_with_xxh3_and_sha1_hashes_stored_before_are_still_known(tmp_path):
    import hashlib

    import xxhash

    file = tmp_path / "900_COVAREP.csv"
    file.write_bytes(b"1,2,3\n" * 1000)
    ident = f"{file.resolve()}|{file.stat().st_size}|{file.stat().st_mtime_ns}|"
    ident += str(file.stat().st_ino)
    hashes = cache_module.ContentHashes(tmp_path / "hashes.npz")
    assert hashes.digest(file) == xxhash.xxh3_128(file.read_bytes()).hexdigest()
    assert hashes.digest(file, name="sha1") == hashlib.sha1(file.read_bytes()).hexdigest()
    hashes.flush()
    assert cache_module.ContentHashes(tmp_path / "hashes.npz").digest(file, compute=False)

    # a hashes file written before hashes were named: its entries are SHA-1 digests
    old = {"ids": np.array([ident]), "digests": np.array(["0" * 40])}
    cache_module._write_npz(tmp_path / "old.npz", old)
    before = cache_module.ContentHashes(tmp_path / "old.npz")
    assert before.digest(file, compute=False, name="sha1") == "0" * 40  # remembered, not read
    assert before.digest(file, compute=False) is None  # XXH3 was never computed
    with pytest.raises(KeyError):
        before.digest(file, name="md5")


def test_one_consolidated_entry_serves_a_set_of_sessions_in_any_order(
    corpus, tmp_path, monkeypatch
):
    cache = FrameCache(tmp_path / "cache")
    first = store.FrameStore(corpus, SETTINGS, cache).read([900, 901, 902])
    monkeypatch.setattr(store, "extract_session", failing)
    again = FrameCache(tmp_path / "cache")
    second = store.FrameStore(corpus, SETTINGS, again).read([902, 900, 901])  # as a fold would
    assert len(list((tmp_path / "cache").glob("bundle-*.npz"))) == 1
    assert again.hits == 3 and again.misses == 0
    for pid in (900, 901, 902):
        np.testing.assert_array_equal(first.frames[pid].values, second.frames[pid].values)


def test_get_extracts_once(corpus, tmp_path):
    cache = FrameCache(tmp_path / "cache")
    stored = cache.get(corpus, 900, SETTINGS)
    again = cache.get(corpus, 900, SETTINGS, extract=failing)
    np.testing.assert_array_equal(stored.values, again.values)
    assert again.feature_names == stored.feature_names and (cache.hits, cache.misses) == (1, 1)


def _same_size_edit(path: Path) -> None:
    """Change one digit of ``path`` keeping its size and modification time."""
    stat = path.stat()
    data = bytearray(path.read_bytes())
    at = data.index(b".", len(data) // 2) + 1  # a row inside the participant turn
    data[at] = ord("1") if data[at] != ord("1") else ord("2")
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_an_edited_file_invalidates_and_a_touched_one_does_not(corpus, tmp_path):
    cache = FrameCache(tmp_path / "cache")
    cache.get(corpus, 900, SETTINGS)
    cache.get(corpus, 901, SETTINGS)
    path = corpus.source(900).location / "900_COVAREP.csv"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert cache.load(Corpus(corpus.root), 900, SETTINGS) is not None  # same bytes
    path.write_bytes(path.read_bytes().replace(b"\n", b"\n1", 1)[:-2] + b"\n")
    assert cache.load(Corpus(corpus.root), 900, SETTINGS) is None
    assert cache.load(Corpus(corpus.root), 901, SETTINGS) is not None  # others unaffected


@pytest.mark.parametrize("archive", [False, True], ids=["folders", "archives"])
def test_another_corpus_with_same_names_sizes_and_dates_is_not_served(tmp_path, archive):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    make_corpus(first)
    shutil.copytree(first, second)
    for pid in (900, 901, 902):
        _same_size_edit(second / f"{pid}_P" / f"{pid}_COVAREP.csv")
    if archive:
        for root in (first, second):
            for pid in (900, 901, 902):
                folder = root / f"{pid}_P"
                shutil.make_archive(str(folder), "zip", folder)
                shutil.rmtree(folder)
                os.utime(f"{folder}.zip", ns=(0, 10**18))
    cache, short = FrameCache(tmp_path / "cache"), WindowSettings(2.0)
    _, original, _ = load_windows(Corpus(first), SETTINGS, short, cache=cache)
    served, normaliser, _ = load_windows(Corpus(second), SETTINGS, short, cache=cache)
    fresh, expected, _ = load_windows(Corpus(second), SETTINGS, short, cache=None)
    assert cache.misses == 6 and cache.hits == 0  # nothing of the first corpus was reused
    np.testing.assert_array_equal(served["train"].x, fresh["train"].x)
    np.testing.assert_array_equal(normaliser.mean_, expected.mean_)
    assert not np.array_equal(normaliser.mean_, original.mean_)


def test_an_edited_transcript_invalidates_a_gated_entry(corpus, tmp_path):
    cache = FrameCache(tmp_path / "cache")
    cache.get(corpus, 900, SETTINGS)
    ungated = FeatureSettings(("covarep",), gate="all")
    cache.get(corpus, 900, ungated)
    path = corpus.source(900).location / "900_TRANSCRIPT.csv"
    path.write_text(path.read_text() + "3.0\t3.5\tEllie\tbye\n")
    reopened = Corpus(corpus.root)
    assert cache.load(reopened, 900, SETTINGS) is None
    assert cache.load(reopened, 900, ungated) is not None  # does not read the transcript


def test_a_changed_setting_or_version_misses(corpus, tmp_path, monkeypatch):
    cache = FrameCache(tmp_path / "cache")
    cache.get(corpus, 900, SETTINGS)
    assert cache.load(corpus, 900, FeatureSettings(("covarep",), rate_hz=5.0)) is None
    assert cache.load(corpus, 900, FeatureSettings(("covarep", "formant"))) is None
    assert cache.load(corpus, 900, FeatureSettings(("covarep",), columns=("F0",))) is None
    # the same settings spelled again hit
    assert cache.load(corpus, 900, FeatureSettings(("covarep",), 10.0, "participant")) is not None
    monkeypatch.setattr(cache_module, "CACHE_VERSION", cache_module.CACHE_VERSION + 1)
    assert cache.load(corpus, 900, SETTINGS) is None


def test_the_cache_never_unpickles(corpus, tmp_path, monkeypatch):
    cache = FrameCache(tmp_path / "cache")
    key = cache.key(corpus, 900, SETTINGS)
    path = cache.path(900, SETTINGS, key)
    path.parent.mkdir(parents=True)
    evil = np.array([{"x": 1}], dtype=object)  # needs pickle to load
    np.savez(path, key=np.array(key), times=evil, values=evil, feature_names=evil, notes=evil)
    assert cache.load(corpus, 900, SETTINGS) is None  # refused and removed, not unpickled
    assert not path.exists()

    calls = []
    real_load = np.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(cache_module.np, "load", spy)
    cache.get(corpus, 900, SETTINGS)
    cache.get(corpus, 900, SETTINGS)
    assert calls and all(flag is False for flag in calls)


def test_writes_are_atomic_and_leave_no_temporary_files(corpus, tmp_path):
    cache = FrameCache(tmp_path / "cache")
    load_windows(corpus, SETTINGS, cache=cache)
    names = [p.name for p in (tmp_path / "cache").iterdir()]
    assert names and not [n for n in names if n.startswith(".")]  # no temporary file left
    assert sum(n.endswith(".values.npy") for n in names) == 1  # the bundle's frame values
    assert all(n.endswith((".npz", ".values.npy")) for n in names)
    assert cache.clear() == len(names)


def test_a_damaged_entry_is_a_miss(corpus, tmp_path):
    cache = FrameCache(tmp_path / "cache")
    cache.get(corpus, 900, SETTINGS)
    path = cache.path(900, SETTINGS, cache.key(corpus, 900, SETTINGS))
    path.write_bytes(b"not a zip")
    assert cache.load(corpus, 900, SETTINGS) is None


def test_a_bundle_maps_its_values_and_is_a_miss_without_them(corpus, tmp_path):
    cache, ids = FrameCache(tmp_path / "cache"), [900, 901, 902]
    read = store.FrameStore(corpus, SETTINGS, cache).read(ids)
    frames, failed = cache.load_bundle(corpus, ids, SETTINGS)
    assert failed == [] and frames.keys() == read.frames.keys()
    for pid, session in frames.items():
        np.testing.assert_array_equal(session.values, read.frames[pid].values)
        assert not session.values.flags.writeable  # mapped from the file, not copied
    (values,) = (tmp_path / "cache").glob("*.values.npy")
    values.write_bytes(values.read_bytes()[:-4])  # truncated: the shape no longer fits
    assert cache.load_bundle(corpus, ids, SETTINGS) is None and not values.exists()
    again = store.FrameStore(corpus, SETTINGS, cache).read(ids)  # per-session entries serve
    assert again.frames.keys() == read.frames.keys() and values.exists()  # and it is rewritten


def test_default_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("DAIC_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert default_directory() == tmp_path / "elsewhere"
    assert FrameCache().directory == tmp_path / "elsewhere"
    monkeypatch.delenv("DAIC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_directory() == tmp_path / "xdg" / "daic-dashboard" / "frames"


def test_failures_are_retried_not_cached(corpus, tmp_path):
    cache = FrameCache(tmp_path / "cache")
    bad = corpus.source(902).location / "902_COVAREP.csv"
    good = bad.read_bytes()
    bad.write_text("1,2,3\n")
    reopened = Corpus(corpus.root)
    for _ in range(2):  # the second load is served by the consolidated entry
        windows, _, notes = load_windows(reopened, SETTINGS, cache=cache)
        assert "skipped" in notes[902][0] and len(windows["dev"]) == 0
    assert cache.hits >= 2
    bad.write_bytes(good)
    fixed = Corpus(corpus.root)
    windows, _, notes = load_windows(fixed, SETTINGS, WindowSettings(2.0), cache=cache)
    assert 902 not in notes and list(windows["dev"].participants()) == [902]
