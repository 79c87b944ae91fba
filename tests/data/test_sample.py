"""The bundled sample: where it lives, generated once, never half-written, small on disk."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from core.data import sample, storage
from core.data.cache import default_directory
from core.data.corpus import Corpus
from core.data.frames import FeatureSettings, extract_session
from core.data.storage import size_of
from core.data.synth import write_corpus

TINY = {"participants": 6, "minutes": 0.2, "seed": 0}


@pytest.fixture
def tiny_sample(monkeypatch):
    monkeypatch.setattr(sample, "SAMPLE_SETTINGS", TINY)


def sessions(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("*_P*"))


# --- Where it lives ----------------------------------------------------------------------


def test_sample_and_cache_live_in_a_per_user_folder_outside_the_repository(monkeypatch, tmp_path):
    monkeypatch.delenv(storage.SAMPLE_ENV, raising=False)
    monkeypatch.delenv(storage.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    home = tmp_path / "xdg" / "daic-dashboard"
    assert sample.sample_root() == home / "sample" / "daic_sample"
    assert default_directory() == home / "frames"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    assert sample.sample_root() == tmp_path / "me" / ".cache" / "daic-dashboard" / "sample" / (
        "daic_sample"
    )
    assert not sample.sample_root().is_relative_to(storage.REPO_ROOT)
    assert not default_directory().is_relative_to(storage.REPO_ROOT)


def test_environment_variables_move_the_sample_and_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(storage.SAMPLE_ENV, str(tmp_path / "mine"))
    monkeypatch.setenv(storage.CACHE_ENV, str(tmp_path / "frames-here"))
    assert sample.sample_root() == tmp_path / "mine" / "daic_sample"
    assert default_directory() == tmp_path / "frames-here"


def test_ensure_sample_writes_where_the_variable_says_and_only_once(
    tiny_sample, monkeypatch, tmp_path
):
    monkeypatch.setenv(storage.SAMPLE_ENV, str(tmp_path / "mine"))
    root = sample.ensure_sample()
    assert root == tmp_path / "mine" / "daic_sample"
    assert sample.sample_ready() and len(sessions(root)) == 6

    def fail(*args, **kwargs):
        raise AssertionError("the sample was generated a second time")

    monkeypatch.setattr(sample, "write_corpus", fail)
    assert sample.ensure_sample() == root


# --- Smaller on disk, read the same ------------------------------------------------------


def test_the_sample_is_written_as_session_archives_less_than_half_the_size(tiny_sample, tmp_path):
    root = sample.ensure_sample(tmp_path / "daic_sample")
    assert sessions(root) == [f"{pid}_P.zip" for pid in range(900, 906)]
    folders = tmp_path / "folders"
    write_corpus(folders, **TINY)
    # Measured: 0.385 of the folder layout here, 180 MB against 460 MB for the full sample.
    assert size_of(root) < 0.45 * size_of(folders)
    zipped, plain = Corpus(root), Corpus(folders)
    assert zipped.splits() == plain.splits()
    for settings in (FeatureSettings(("covarep",)), FeatureSettings(("aus", "pose", "gaze"))):
        a, b = extract_session(zipped, 903, settings), extract_session(plain, 903, settings)
        np.testing.assert_array_equal(a.values, b.values)


def test_the_sample_is_deterministic(tiny_sample, tmp_path):
    a = sample.ensure_sample(tmp_path / "a" / "daic_sample")
    b = sample.ensure_sample(tmp_path / "b" / "daic_sample")
    files = sorted(p.name for p in a.iterdir())
    assert files == sorted(p.name for p in b.iterdir()) and len(files) == 6 + 5
    for name in files:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_an_older_folder_sample_is_replaced_by_archives(tiny_sample, tmp_path, monkeypatch):
    root = tmp_path / "daic_sample"
    monkeypatch.setattr(sample, "SAMPLE_ARCHIVES", False)
    sample.ensure_sample(root)
    assert sessions(root) == [f"{pid}_P" for pid in range(900, 906)]
    monkeypatch.setattr(sample, "SAMPLE_ARCHIVES", True)
    assert not sample.sample_ready(root)
    sample.ensure_sample(root)
    assert sessions(root) == [f"{pid}_P.zip" for pid in range(900, 906)]


# --- Generated once, never half-written --------------------------------------------------


def test_ensure_sample_generates_once(tiny_sample, tmp_path):
    root = tmp_path / "daic_sample"
    calls = []
    assert sample.ensure_sample(root, progress=lambda done, total: calls.append(done)) == root
    assert calls == list(range(1, 7))
    marker = root / sample.MARKER
    assert marker.exists() and len(sessions(root)) == 6
    stamp = marker.stat().st_mtime_ns
    assert sample.ensure_sample(root) == root
    assert marker.stat().st_mtime_ns == stamp  # not regenerated
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".daic_sample.tmp")] == []


def test_ensure_sample_replaces_stale_or_partial_corpora(tiny_sample, tmp_path, monkeypatch):
    root = tmp_path / "daic_sample"
    root.mkdir()
    (root / "900_P").mkdir()  # an interrupted copy without a marker
    (tmp_path / ".daic_sample.tmp-dead").mkdir()  # left by a killed process
    sample.ensure_sample(root)
    assert len(sessions(root)) == 6 and (root / sample.MARKER).exists()
    assert not (tmp_path / ".daic_sample.tmp-dead").exists()
    monkeypatch.setattr(sample, "SAMPLE_SETTINGS", {**TINY, "participants": 7})
    sample.ensure_sample(root)
    assert len(sessions(root)) == 7


def in_threads(n: int, target) -> list[BaseException]:
    """Run ``target`` in ``n`` threads at once; return what they raised."""
    errors: list[BaseException] = []

    def call():
        try:
            target()
        except Exception as error:  # noqa: BLE001 - reported to the test
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_ensure_sample_from_two_threads(tiny_sample, tmp_path):
    root = tmp_path / "daic_sample"
    assert in_threads(2, lambda: sample.ensure_sample(root)) == []
    assert len(sessions(root)) == 6 and (root / sample.MARKER).exists()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != ".daic_sample.lock"]
    assert leftovers == ["daic_sample"]


def test_ensure_sample_without_a_lock(tiny_sample, tmp_path, monkeypatch):
    """Where there is no fcntl, racing callers still end with one complete corpus."""

    @contextmanager
    def no_lock(root):
        yield False

    monkeypatch.setattr(sample, "_lock", no_lock)
    root = tmp_path / "daic_sample"
    assert in_threads(3, lambda: sample.ensure_sample(root)) == []
    assert len(sessions(root)) == 6 and (root / sample.MARKER).exists()
    assert [p.name for p in tmp_path.iterdir()] == ["daic_sample"]
