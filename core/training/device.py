"""Where randomness and the compute device enter the program: one function each."""

from __future__ import annotations

import random

import numpy as np
import torch

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


def _mps_available() -> bool:
    """Return whether Apple's Metal backend can be used."""
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def choose_device(preference: str = "auto") -> torch.device:
    """Pick the device to train on, once, at the start of a run.

    Parameters
    ----------
    preference : {"auto", "cuda", "mps", "cpu"}, default "auto"
        ``"auto"`` takes CUDA if present, then Apple MPS, then the CPU. An explicit
        choice is honoured (``"cuda:1"`` selects a particular GPU).

    Returns
    -------
    torch.device
        The chosen device.

    Raises
    ------
    ValueError
        If the preference is not recognised or the requested device is not available.
    """
    choice = str(preference).strip().lower()
    kind = choice.split(":", 1)[0]
    if kind not in DEVICE_CHOICES:
        raise ValueError(
            f"Unknown device {preference!r}: choose one of {', '.join(DEVICE_CHOICES)}."
        )
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                "CUDA was requested but no CUDA GPU is available to this PyTorch build "
                f"(torch {torch.__version__}); choose 'auto' or 'cpu'."
            )
        device = torch.device(choice)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"CUDA device {device.index} was requested but only "
                f"{torch.cuda.device_count()} GPU(s) are visible."
            )
        return device
    if kind == "mps" and not _mps_available():
        raise ValueError(
            "Apple MPS was requested but is not available on this machine; choose 'auto' or 'cpu'."
        )
    return torch.device(choice)


def seed_everything(seed: int) -> None:
    """Seed every random number generator a run uses: Python, NumPy and torch.

    Call it once, before the model is built; the seed is saved with the run's
    configuration. CUDA generators are seeded too when a GPU is present.

    Parameters
    ----------
    seed : int
        The run's seed.
    """
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - libraries still draw from the global one
    torch.manual_seed(seed)  # also seeds every CUDA device
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
