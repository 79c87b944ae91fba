"""What the app keeps on disk, its size, and ``python -m core.data clear-cache``."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data import sample, storage
from core.data.__main__ import main
from core.data.cache import HASHES_FILE, FrameCache
from core.data.synth import write_corpus

TINY = {"participants": 6, "minutes": 0.2, "seed": 0}


@pytest.fixture
def home(monkeypatch, tmp_path) -> Path:
    """The per-user folder under a temporary cache home; no old in-repository copies."""
    monkeypatch.delenv(storage.SAMPLE_ENV, raising=False)
    monkeypatch.delenv(storage.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    legacy = (tmp_path / "repo" / "sample_data" / "generated", tmp_path / "repo" / ".cache" / "f")
    monkeypatch.setattr(storage, "LEGACY_FOLDERS", legacy)
    monkeypatch.setattr(sample, "SAMPLE_SETTINGS", TINY)
    return tmp_path / "xdg" / "daic-dashboard"


def fill_cache(directory: Path, corpus_root: Path) -> Path:
    """One real frame-cache entry under ``directory``; return its path."""
    from core.data.corpus import Corpus
    from core.data.frames import FeatureSettings

    corpus = Corpus(corpus_root)
    cache = FrameCache(directory)
    cache.get(corpus, 900, FeatureSettings(("covarep",)))
    (entry,) = [p for p in directory.glob("*.npz") if p.name != HASHES_FILE]
    return entry


def test_stored_lists_the_sample_and_the_cache_with_their_sizes(home):
    root = sample.ensure_sample()
    fill_cache(home / "frames", root)
    found = {item.label: item for item in storage.stored()}
    assert set(found) == {"sample", "frame cache"}
    assert found["sample"].folder == home / "sample"
    assert found["sample"].bytes == storage.size_of(home / "sample")
    assert found["frame cache"].bytes == storage.size_of(home / "frames") > 0


def test_clear_cache_removes_the_apps_folders(home, capsys):
    root = sample.ensure_sample()
    fill_cache(home / "frames", root)
    assert main(["clear-cache", "--dry-run"]) == 0
    assert "would free" in capsys.readouterr().out and sample.sample_ready()
    assert main(["clear-cache"]) == 0
    out = capsys.readouterr().out
    assert "freed" in out and str(home / "sample") in out
    assert not home.exists()  # the app's own folders, emptied, are gone
    assert home.parent.is_dir()  # the cache home itself (shared with other programs) stays


def test_clear_cache_keeps_what_is_not_the_apps(home, monkeypatch, tmp_path):
    mine, frames = tmp_path / "my-data", tmp_path / "my-frames"
    monkeypatch.setenv(storage.SAMPLE_ENV, str(mine))
    monkeypatch.setenv(storage.CACHE_ENV, str(frames))
    root = sample.ensure_sample()
    entry = fill_cache(frames, root)
    (mine / "notes.txt").write_text("keep me")
    (mine / "other_corpus").mkdir()
    (frames / "results.csv").write_text("keep me too")
    storage.clear()
    assert not root.exists() and not entry.exists()
    assert not (mine / ".daic_sample.lock").exists()
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt", "other_corpus"]
    assert [p.name for p in frames.iterdir()] == ["results.csv"]


def test_clear_cache_also_removes_copies_older_versions_left_in_the_repository(home, tmp_path):
    old_sample, old_frames = storage.LEGACY_FOLDERS
    write_corpus(old_sample / "daic_sample", **TINY)
    (old_sample / ".daic_sample.lock").touch()
    entry = fill_cache(old_frames, old_sample / "daic_sample")
    labels = [item.label for item in storage.stored()]
    assert "sample (old location)" in labels and "frame cache (old location)" in labels
    storage.clear()
    assert not old_sample.exists() and not entry.exists()
    assert (tmp_path / "repo").is_dir()


def test_human_size():
    assert storage.human_size(0) == "0 B"
    assert storage.human_size(12_300) == "12 kB"
    assert storage.human_size(173_000_000) == "173 MB"
    assert storage.human_size(1_234_000_000) == "1.2 GB"
