"""Shared fixtures and the suite's rules.

Fixtures that only read what they are given are built once per test session and, when
the suite runs in several processes (``pytest -n 2``, pytest-xdist), once for all of them
(:func:`built_once`, under a file lock): the synthetic corpora, the trained runs, the
reference experiment. A test that changes one of them works on a copy.

The ``slow`` marker is applied by a rule, not by memory (:data:`SLOW_FIXTURES`,
:func:`pytest_collection_modifyitems`), and the rule is checked while the tests run: a
test without the marker that starts a process (a server, a training run, a cluster's
workers) or trains more than :data:`FEW_EPOCHS` epochs fails, saying what it started.
"""

from __future__ import annotations

import multiprocessing.process
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from tests.sharing import built_once, shared_base

# Two cores are shared by pytest and torch; more threads only make tiny models slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# ----------------------------------------------------------------------------- the slow rule

SLOW_FIXTURES = frozenset(
    {
        "small_corpus",
        "planted_corpus",
        "trained_runs",
        "trained_root",
        "reference",
        "tiny_audio_run",
        "report_text_run",
        "app_server",
    }
)
"""Fixtures that train models, start processes or write a synthetic corpus with every
modality (24 or 60 people): a test that uses one is slow (the fixture may be built during
that test)."""

FEW_EPOCHS = 15
"""More epochs than this trained in this process make a test slow (the trainer's own unit
tests run up to a dozen epochs of a few-parameter model on a few dozen samples)."""

_activity: list[str] = []


def _record(what: str) -> None:
    _activity.append(what)


def _watch(owner: type, name: str, describe: Callable[..., str]) -> None:
    original = getattr(owner, name)

    def watched(self, *args, **kwargs):
        _record(describe(self, *args, **kwargs))
        return original(self, *args, **kwargs)

    setattr(owner, name, watched)


def _command(popen, args, *rest, **kwargs) -> str:
    text = args if isinstance(args, str) else " ".join(map(str, args))
    return f"a process ({text[:120]})"


_watch(subprocess.Popen, "__init__", _command)
_watch(multiprocessing.process.BaseProcess, "start", lambda process: f"a process ({process})")


def _watch_epochs() -> None:
    from core.training.base import BaseTrainer

    _watch(BaseTrainer, "_begin_epoch", lambda trainer, epoch: "epoch")


_watch_epochs()


def _violation() -> str | None:
    processes = [what for what in _activity if what != "epoch"]
    epochs = _activity.count("epoch")
    if processes:
        return f"started {processes[0]}"
    if epochs > FEW_EPOCHS:
        return f"trained {epochs} epochs (more than {FEW_EPOCHS})"
    return None


def _group(item: pytest.Item) -> str:
    """The test's module when it shares a module- or class-scoped fixture, else itself.

    The browser tests that use the one Streamlit server share a group, so that one
    process starts one server.
    """
    if "app_server" in getattr(item, "fixturenames", ()):
        return "app_server"
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info else ()
    shared = any(d.scope in ("module", "class", "package") for defs in definitions for d in defs)
    return item.nodeid.split("::")[0] if shared else item.nodeid


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark slow every test that uses a slow fixture (before ``-m`` deselects).

    A test that uses a module-scoped fixture joins its module's ``xdist_group``, so with
    ``pytest -n 2 --dist loadgroup`` that fixture is built in one process only; the other
    tests are spread over both processes one by one.
    """
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        item.add_marker(pytest.mark.xdist_group(_group(item)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    """Start counting what the test starts, its fixtures' set-up included."""
    _activity.clear()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Fail a passing test that is not marked slow but did what only slow tests do."""
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or not report.passed or item.get_closest_marker("slow"):
        return
    why = _violation()
    if why:
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} {why} but is not marked slow: add @pytest.mark.slow "
            "(the fast lane, pytest -m 'not slow', starts no process)"
        )


# ----------------------------------------------------------------------------- sharing


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches() -> None:
    """Each test sees Streamlit's caches empty, as a freshly started server's pages do.

    AppTest runs pages in this process, so ``st.cache_data`` and ``st.cache_resource``
    would otherwise carry one test's tables and models into the next.
    """
    if "streamlit" in sys.modules:
        import streamlit as st

        st.cache_data.clear()
        st.cache_resource.clear()


@pytest.fixture(scope="session", autouse=True)
def _isolated_storage(tmp_path_factory: pytest.TempPathFactory):
    """Keep the frame cache and the generated sample in this session's temporary folder.

    Session-wide, so a server a test starts (the browser tests) inherits it too: no test
    writes into the user's own ``~/.cache/daic-dashboard``. Both are shared by the worker
    processes, as the app's processes share them: the sample's generation takes a lock,
    and the cache's entries are written atomically under content keys (tests that count
    its hits and misses use a cache of their own).
    """
    shared = shared_base(tmp_path_factory)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAIC_CACHE_DIR", str(shared / "frame-cache"))
        patch.setenv("DAIC_SAMPLE_DIR", str(shared / "sample"))
        yield


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 24-participant synthetic corpus (about 0.5 min per session), written once."""
    from core.data.synth import write_corpus

    def build(folder: Path) -> None:
        write_corpus(folder / "daic", participants=24, minutes=0.5, seed=3)

    return built_once(tmp_path_factory, "corpus", build) / "daic"


@pytest.fixture(scope="session")
def bundled_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample (``NNN_P.zip`` archives), generated once where the app looks."""
    from core.data.sample import ensure_sample

    with FileLock(f"{shared_base(tmp_path_factory) / 'sample'}.build.lock"):
        return ensure_sample()


@pytest.fixture(scope="session")
def planted_corpus(bundled_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A corpus like the bundled sample (60 participants, 1 min, seed 0), as folders.

    The same files as the bundled sample, unpacked from its archives rather than
    generated a second time (``test_archives_hold_the_same_files_at_their_root`` holds
    the generator to that).
    """
    import zipfile

    def build(folder: Path) -> None:
        root = folder / "daic"
        root.mkdir()
        for path in sorted(bundled_sample.iterdir()):
            if path.suffix == ".zip":
                with zipfile.ZipFile(path) as archive:
                    archive.extractall(root / path.stem)
            elif path.is_file() and not path.name.startswith("."):
                shutil.copy2(path, root / path.name)

    return built_once(tmp_path_factory, "planted", build) / "daic"


@pytest.fixture(scope="session")
def trained_runs(planted_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real runs trained once on ``planted_corpus`` with default hyper-parameters.

    ``audio``, ``face`` (AUs, pose, gaze), ``face_aus`` (AUs only), ``text`` and
    ``fusion`` (of those audio, face and text runs); ``landmarks`` is a tiny face run
    with 2-D landmarks, for the face drawing (it learns little). Tests only read them:
    one that changes a run copies it first.
    """
    from core.train import main

    data = ["--data", str(planted_corpus), "--quiet", "--seed", "0"]
    names = ("text", "audio", "face", "face_aus", "landmarks", "fusion")
    plans = {
        "text": ["text"],
        "audio": ["audio"],
        "face": ["face"],
        "face_aus": ["face", "--face-features", "aus"],
        "landmarks": ["face", "--face-features", "aus,landmarks", "--hidden-size", "8"]
        + ["--max-epochs", "2"],
    }

    def build(folder: Path) -> None:
        root = folder / "runs"
        for name, args in plans.items():
            assert main([*args, *data, "--run-dir", str(root / name)]) == 0, name
        sources = ["--audio-run", str(root / "audio"), "--face-run", str(root / "face")]
        sources += ["--text-run", str(root / "text")]
        assert main(["fusion", *data, *sources, "--run-dir", str(root / "fusion")]) == 0

    root = built_once(tmp_path_factory, "trained", build) / "runs"
    return {name: root / name for name in names}
