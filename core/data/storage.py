"""Where the app keeps what it writes for itself: the generated sample and the frame cache.

Both live in one per-user folder outside the repository, so a user can find and clear them:

- ``$XDG_CACHE_HOME/daic-dashboard`` (``~/.cache/daic-dashboard`` when the variable is not
  set), holding ``sample/`` (the bundled synthetic corpus) and ``frames/`` (the frame cache);
- ``$DAIC_SAMPLE_DIR`` replaces ``sample/`` and ``$DAIC_CACHE_DIR`` replaces ``frames/``.

:func:`clear` removes only what the app itself writes there (the sample, its lock and
leftovers, the cache's ``.npz`` and ``.npy`` entries), plus the same things at the locations older
versions used inside the repository, and never anything else a user put in those folders.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from core.files import temporary_of

APP_NAME = "daic-dashboard"
"""Name of the per-user folder under the cache home."""

SAMPLE_ENV = "DAIC_SAMPLE_DIR"
"""Environment variable naming the folder that holds the generated sample."""

CACHE_ENV = "DAIC_CACHE_DIR"
"""Environment variable naming the frame cache folder."""

SAMPLE_NAME = "daic_sample"
"""The sample corpus's folder name inside the sample folder."""

REPO_ROOT = Path(__file__).resolve().parents[2]

LEGACY_FOLDERS = (REPO_ROOT / "sample_data" / "generated", REPO_ROOT / ".cache" / "frames")
"""Where older versions wrote the sample and the frame cache (inside the repository)."""


def app_home() -> Path:
    """The per-user folder: ``$XDG_CACHE_HOME/daic-dashboard`` or ``~/.cache/daic-dashboard``."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base).expanduser() if base else Path.home() / ".cache") / APP_NAME


def _from_env(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def sample_dir() -> Path:
    """The folder holding the sample: ``$DAIC_SAMPLE_DIR`` or ``<app home>/sample``."""
    return _from_env(SAMPLE_ENV) or app_home() / "sample"


def frames_dir() -> Path:
    """The frame cache folder: ``$DAIC_CACHE_DIR`` or ``<app home>/frames``."""
    return _from_env(CACHE_ENV) or app_home() / "frames"


def _sample_paths(folder: Path) -> list[Path]:
    """What the sample writer leaves in ``folder``: the corpus, its lock, interrupted copies."""
    names = [SAMPLE_NAME, f".{SAMPLE_NAME}.lock"]
    paths = [folder / name for name in names]
    for pattern in (f".{SAMPLE_NAME}.tmp-*", f".{SAMPLE_NAME}.old-*"):
        paths += sorted(folder.glob(pattern))
    return [p for p in paths if p.exists() or p.is_symlink()]


def _frame_paths(folder: Path) -> list[Path]:
    """The frame cache's entries in ``folder`` and its interrupted temporary files."""
    if not folder.is_dir():
        return []
    entries = [*folder.glob("*.npz"), *folder.glob("*.npy")]
    interrupted = [p for p in folder.glob(".*") if _is_cache_temporary(p.name)]
    return sorted(entries) + sorted(interrupted)


def _is_cache_temporary(name: str) -> bool:
    """The temporary file of a cache entry's write (:func:`core.files.atomic_write`)."""
    found = temporary_of(name)
    return found is not None and found.target.endswith((".npz", ".npy"))


def size_of(path: Path) -> int:
    """Bytes used by a file or everything under a folder (0 if missing; links not followed)."""
    try:
        if path.is_symlink() or not path.is_dir():
            return path.lstat().st_size
    except FileNotFoundError:
        return 0
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += (Path(folder) / name).lstat().st_size
            except FileNotFoundError:
                pass
    return total


@dataclass(frozen=True)
class Stored:
    """One thing the app keeps on disk.

    Attributes
    ----------
    label : str
        What it is ("sample", "frame cache", "sample (old location)", ...).
    folder : pathlib.Path
        The folder that holds it.
    paths : tuple of pathlib.Path
        The app's own files and folders in ``folder`` (what :func:`clear` removes).
    bytes : int
        Their size on disk.
    """

    label: str
    folder: Path
    paths: tuple[Path, ...]
    bytes: int


def stored() -> list[Stored]:
    """What the app keeps now: the sample, the frame cache, and any old in-repository copy."""
    out = []
    places = [("sample", sample_dir(), _sample_paths), ("frame cache", frames_dir(), _frame_paths)]
    places += [
        ("sample (old location)", LEGACY_FOLDERS[0], _sample_paths),
        ("frame cache (old location)", LEGACY_FOLDERS[1], _frame_paths),
    ]
    seen: set[Path] = set()
    for label, folder, find in places:
        paths = tuple(p for p in find(folder) if p not in seen)
        seen.update(paths)
        if paths or not label.endswith("(old location)"):
            out.append(Stored(label, folder, paths, sum(size_of(p) for p in paths)))
    return out


def clear() -> list[Stored]:
    """Delete everything :func:`stored` lists; return what was there.

    Folders are removed afterwards only when left empty, and only the app's own ones
    (``sample/``, ``frames/`` and the per-user folder itself): a folder named by an
    environment variable keeps whatever else a user put in it.
    """
    found = stored()
    for item in found:
        for path in item.paths:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    home = app_home()
    for folder in (home / "sample", home / "frames", home, *LEGACY_FOLDERS):
        try:
            folder.rmdir()  # only succeeds when empty
        except OSError:
            pass
    return found


def human_size(n: int) -> str:
    """``n`` bytes as a short text: ``"0 B"``, ``"12 kB"``, ``"173 MB"``, ``"1.2 GB"``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{n} B"
