"""The bundled demo corpus: generated once, never half-written, kept outside the repository.

The sample is synthetic (:mod:`core.data.synth`); :func:`ensure_sample` writes it the first
time it is needed into :func:`sample_root` (a per-user folder, see
:mod:`core.data.storage`; ``$DAIC_SAMPLE_DIR`` moves it). Each session is one ``NNN_P.zip``
archive, as DAIC-WOZ is distributed, which takes about 40 % of the space of plain folders.

Generation happens in a private temporary folder next to the target, which is renamed into
place only when complete, and a marker file records the generator version and settings: a
folder without a matching marker is never mistaken for a finished sample. Concurrent
callers (threads or processes) are serialised by a lock file (filelock, on every platform);
even without it, the atomic rename guarantees that at most one complete
corpus wins and the others are discarded.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType

from filelock import FileLock

from core.data import storage
from core.data.synth import GENERATOR_VERSION, write_corpus

SAMPLE_SETTINGS = MappingProxyType({"participants": 60, "minutes": 1.0, "seed": 0})
"""What the demo corpus holds (arguments of :func:`core.data.synth.write_corpus`).

60 one-minute interviews (each recording starts 20-40 s before the interviewer's first
line, as real ones do); every planted word still reaches 6 or more of the 34 training
transcripts. Written as archives (:data:`SAMPLE_ARCHIVES`) they take about 45 % of the
space of folders (about 360 MB against 800 MB since generator version 3, whose CLNF files
carry six significant digits); generation times are in ``benchmarks/README.md``.
"""

GENERATION_TIME = (
    "25 to 45 s on two cores with other work running (measured), and up to about 2 min "
    "on a heavily loaded machine"
)
"""How long generating the sample takes, as the first page and the README say it.

Measured with :data:`SAMPLE_SETTINGS` on two cores with other work running, December
2026: ``write_corpus`` alone took 45.4 s and 34.2 s (load average 6-7), and the app's
first page was ready 26 s after it opened (load average about 4); about 110 s was
reported on a more heavily loaded machine, and ``benchmarks/README.md`` has 10-30 s on
idle cores. The time grows with the load because the sessions are written by
threads that need both cores.
"""

SAMPLE_ARCHIVES = True
"""Write each session as ``NNN_P.zip`` (the distributed layout) rather than a folder."""

MARKER = ".synth_sample.json"
"""Marker file inside a complete sample; holds the generator version and settings."""


def sample_root() -> Path:
    """Where the demo corpus lives: ``daic_sample`` in :func:`core.data.storage.sample_dir`."""
    return storage.sample_dir() / storage.SAMPLE_NAME


def _expected(settings: dict) -> dict:
    return {
        "generator": "core.data.synth",
        "version": GENERATOR_VERSION,
        **settings,
        "archives": SAMPLE_ARCHIVES,
    }


def _is_current(root: Path, settings: dict) -> bool:
    try:
        return json.loads((root / MARKER).read_text()) == _expected(settings)
    except (OSError, ValueError):
        return False


@contextmanager
def _lock(root: Path) -> Iterator[bool]:
    """Hold an exclusive lock file next to ``root`` (filelock); yield that one was taken."""
    with FileLock(root.parent / f".{root.name}.lock"):
        yield True


def _remove_leftovers(root: Path) -> None:
    """Delete temporary and replaced folders that interrupted runs left next to ``root``."""
    for pattern in (f".{root.name}.tmp-*", f".{root.name}.old-*"):
        for path in root.parent.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)


def _swap_in(tmp: Path, root: Path, settings: dict) -> None:
    """Rename the finished ``tmp`` to ``root``, moving any stale ``root`` aside first."""
    if _is_current(root, settings):  # another caller finished first: keep theirs
        return
    if root.exists():
        old = root.parent / f".{root.name}.old-{uuid.uuid4().hex[:8]}"
        try:
            os.replace(root, old)
        except FileNotFoundError:  # another process moved it first
            pass
        else:
            shutil.rmtree(old, ignore_errors=True)
    try:
        os.replace(tmp, root)
    except OSError:
        # Another process put a corpus there between our two renames; keep it if complete.
        if not _is_current(root, settings):
            raise


def _ensure(root: Path, settings: dict, progress: Callable[[int, int], None] | None) -> Path:
    if _is_current(root, settings):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with _lock(root) as locked:
        if _is_current(root, settings):  # someone finished it while we waited
            return root
        if locked:  # nobody else can be writing now: anything left over is abandoned
            _remove_leftovers(root)
        tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
        tmp.chmod(0o755)  # mkdtemp's 0o700 would hide the corpus from other users
        try:
            write_corpus(tmp, **settings, archives=SAMPLE_ARCHIVES, progress=progress)
            (tmp / MARKER).write_text(json.dumps(_expected(settings), indent=1) + "\n")
            _swap_in(tmp, root, settings)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # only still there if something failed
    return root


def ensure_sample(
    root: Path | None = None, progress: Callable[[int, int], None] | None = None
) -> Path:
    """Return the demo corpus root, generating it first if needed.

    Parameters
    ----------
    root : pathlib.Path, optional
        Where the sample lives; :func:`sample_root` by default.
    progress : callable, optional
        Called as ``progress(done, total)`` after each session while generating.

    Returns
    -------
    pathlib.Path
        ``root``, holding a complete corpus written with :data:`SAMPLE_SETTINGS` by the
        current generator version. A folder whose marker is missing or differs (an older
        generator, other settings, an interrupted run) is replaced.
    """
    chosen = Path(root) if root is not None else sample_root()
    return _ensure(chosen, dict(SAMPLE_SETTINGS), progress)


def sample_ready(root: Path | None = None) -> bool:
    """Whether the demo corpus is already generated and current (no work to do)."""
    return _is_current(Path(root) if root is not None else sample_root(), dict(SAMPLE_SETTINGS))
