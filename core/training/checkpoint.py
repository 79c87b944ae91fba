"""Self-describing training checkpoints: atomic writes, safe (weights-only) loads.

A checkpoint is a dict of tensors and plain Python values, so ``torch.load(path,
weights_only=True)`` reads it and no arbitrary object is ever unpickled.
"""

from __future__ import annotations

import io
import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.errors import UserError
from core.files import atomic_write_bytes

FORMAT_VERSION = 1
"""Version of the checkpoint payload layout; bump it when keys change meaning."""

LATEST_NAME = "latest_checkpoint.pth"
BEST_NAME = "best_model.pth"


class CheckpointError(UserError):
    """A checkpoint file that is missing, unreadable or not one of ours.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file.
    problem : str
        What is wrong, ideally with a hint of what to do.
    """

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"checkpoint {self.path}: {problem}")


def to_plain(value: Any) -> Any:
    """Convert a value to tensors and plain Python types that weights-only loading accepts.

    NumPy arrays become lists, NumPy scalars Python numbers, paths strings, tuples and
    sets lists; mappings and sequences are converted recursively. Tensors are kept.

    Parameters
    ----------
    value : Any
        A configuration value, metric or RNG state.

    Returns
    -------
    Any
        The converted value.

    Raises
    ------
    TypeError
        If the value is of a type with no plain equivalent.
    """
    if value is None or isinstance(value, bool | int | float | str | torch.Tensor):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, torch.device | torch.dtype):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k) if not isinstance(k, int) else k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_plain(v) for v in value]
    raise TypeError(
        f"cannot store a {type(value).__name__} in a checkpoint; "
        "use tensors, numbers, strings, lists or dicts"
    )


def capture_rng_state() -> dict[str, Any]:
    """Return the state of every global random generator, as plain values and tensors."""
    np_state = np.random.get_state(legacy=True)  # noqa: NPY002 - the legacy global generator
    assert isinstance(np_state, tuple)  # legacy=True gives the MT19937 tuple
    py_state = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": str(np_state[0]),
            "keys": np_state[1].tolist(),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": [py_state[0], list(py_state[1]), py_state[2]],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Restore the global random generators from :func:`capture_rng_state` output.

    Parameters
    ----------
    state : mapping
        As returned by :func:`capture_rng_state` (possibly after a save/load round trip).
    """
    torch.set_rng_state(torch.as_tensor(state["torch"]).cpu())
    np_state = state["numpy"]
    np.random.set_state(  # noqa: NPY002 - restores the legacy global generator
        (
            np_state["kind"],
            np.asarray(np_state["keys"], dtype=np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = [torch.as_tensor(s).cpu() for s in state["cuda"]]
        torch.cuda.set_rng_state_all(cuda_states[: torch.cuda.device_count()])


def save_checkpoint(path: str | os.PathLike, payload: Mapping[str, Any]) -> Path:
    """Write a checkpoint atomically: a reader sees the old file or the new one, never half.

    The payload is serialised in memory, then written with
    :func:`core.files.atomic_write_bytes` (a temporary file in the same folder, fsync,
    rename). ``format_version`` is added when
    missing. Serialising first means a full disk surfaces as the operating system's
    ``OSError`` (``ENOSPC``) from a plain write, not as torch's opaque stream-position
    error, and the temporary file is removed whatever fails.

    Parameters
    ----------
    path : str or os.PathLike
        Destination file. Its folder must exist: a run folder deleted from outside is
        never recreated without its configuration.
    payload : mapping
        Tensors and plain Python values only (see :func:`to_plain`).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    FileNotFoundError
        The folder does not exist.
    OSError
        The write failed (``errno.ENOSPC``: no space left on device).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path.parent}: no such folder (was it deleted?)")
    buffer = io.BytesIO()
    torch.save({"format_version": FORMAT_VERSION, **payload}, buffer)
    atomic_write_bytes(path, buffer.getbuffer())
    return path


def load_checkpoint(
    path: str | os.PathLike,
    map_location: str | torch.device = "cpu",
    allow_legacy: bool = False,
) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and check that it is one of ours.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file.
    map_location : str or torch.device, default "cpu"
        Where to put the tensors.
    allow_legacy : bool, default False
        Accept a file without ``format_version`` (e.g. a bare state dict written by the
        original reference code) and return it as read.

    Returns
    -------
    dict
        The payload.

    Raises
    ------
    CheckpointError
        If the file is missing, truncated or corrupt, holds anything but tensors and
        plain values, or has another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "file not found; was the run saved to another folder?")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError, ...
        if "Weights only load failed" in str(exc):
            problem = (
                "holds objects other than tensors and plain values, which are never "
                "unpickled; it was not written by this project"
            )
        else:
            detail = ": ".join(filter(None, [type(exc).__name__, str(exc).split(". ")[0]]))
            problem = (
                f"cannot be read ({detail}); the file is truncated or corrupt (an "
                "interrupted copy?): use the run's other checkpoint or start a new run"
            )
        raise CheckpointError(path, problem) from exc
    if not isinstance(payload, dict):
        raise CheckpointError(path, f"holds a {type(payload).__name__}, expected a dict")
    version = payload.get("format_version")
    if version is None:
        if allow_legacy:
            return payload
        raise CheckpointError(path, "has no format_version: it was not written by this project")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            path,
            f"has format version {version!r}, this program reads version {FORMAT_VERSION}",
        )
    return payload
