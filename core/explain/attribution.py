"""Integrated Gradients (Captum) for the audio and face models.

What is attributed
    The depressed-versus-not **log-odds** of each window, ``logit[1] - logit[0]``, in
    eval mode (dropout off, batch norm on its running statistics). Attributions are in
    log-odds units: a positive value pushes the window towards "depressed".

Baseline
    The all-zero window in normalised units, which is the **training participants' mean
    frame** for every feature and step (the normaliser subtracts that mean). An
    attribution therefore says how much a feature's departure from the average training
    frame moved the log-odds.

Completeness
    Integrated Gradients' attributions of a window add up to ``F(x) - F(baseline)``; the
    difference that the numerical integral leaves is Captum's *convergence delta*, shown
    next to every explanation. Steps are Gauss-Legendre nodes (Captum's default method):
    on trained audio and face models most windows converge with 8 of them, where the
    trapezoid rule needs 32. :func:`integrated_gradients` gives every window 8 steps and
    recomputes only the windows whose delta is still large, doubling the steps up to 128;
    windows that never converge are counted and shown as such, not hidden.

CUDA
    cuDNN's LSTM backward refuses to run in eval mode. Switching the model to training
    mode would turn dropout on and change batch-norm statistics, so the attribution pass
    disables cuDNN instead (:func:`torch.backends.cudnn.flags`) and the model stays in
    eval mode.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import IntegratedGradients
from torch import nn

BASELINE = "the training participants' mean frame (all zeros after normalisation)"
TARGET = "log-odds of 'depressed' (logit[1] - logit[0]) of each window"
STEPS = (8, 16, 32, 64, 128)
"""Step counts tried in turn, per window, until its convergence delta is small enough."""
METHOD = "gausslegendre"
"""Captum's integration rule (see :func:`integrated_gradients`)."""


@dataclass
class Attribution:
    """Integrated Gradients of a batch of windows.

    Attributes
    ----------
    values : numpy.ndarray
        ``(W, T, F)`` attribution of every input value, in log-odds units.
    delta : numpy.ndarray
        ``(W,)`` convergence delta: ``sum(values[w]) - (F(x_w) - F(baseline))``.
    output : numpy.ndarray
        ``(W,)`` ``F(x)``, the log-odds of each window.
    baseline_output : numpy.ndarray
        ``(W,)`` ``F(baseline)``.
    n_steps : numpy.ndarray
        ``(W,)`` integration steps each window needed.
    converged : numpy.ndarray
        ``(W,)`` whether the window met the tolerance within the largest step count.
    baseline : str
        What the baseline is, in words.
    target : str
        What is attributed, in words.
    """

    values: np.ndarray
    delta: np.ndarray
    output: np.ndarray
    baseline_output: np.ndarray
    n_steps: np.ndarray
    converged: np.ndarray
    baseline: str = BASELINE
    target: str = TARGET

    def relative_delta(self) -> float:
        """Largest ``|delta|`` over the mean ``|F(x) - F(baseline)|`` (0 when no change)."""
        if not len(self.delta):
            return 0.0
        change = float(np.mean(np.abs(self.output - self.baseline_output)))
        return float(np.max(np.abs(self.delta))) / change if change > 0 else 0.0


def log_odds(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``logit[1] - logit[0]`` of an AudioRNN or FaceSTRNN, shape ``(B,)``."""
    out = model(x)
    logits = out[0] if isinstance(out, tuple) else out  # (B, 2)
    return logits[:, 1] - logits[:, 0]  # (B,)


def integrated_gradients(
    model: nn.Module,
    x: np.ndarray,
    steps: tuple[int, ...] = STEPS,
    tolerance: float = 0.05,
    floor: float = 0.02,
    batch_windows: int = 128,
    method: str = METHOD,
) -> Attribution:
    """Integrated Gradients of every window against the training-mean baseline.

    Every window starts with ``steps[0]`` integration steps; only the windows whose
    convergence delta is still too large are recomputed with the next step count, so a
    session costs about as much as its easy windows need, not its hardest one.

    Parameters
    ----------
    model : torch.nn.Module
        AudioRNN or FaceSTRNN; kept in eval mode, its parameters untouched.
    x : numpy.ndarray
        Normalised windows ``(W, T, F)``.
    steps : tuple of int, default STEPS
        Increasing step counts.
    tolerance : float, default 0.05
        A window has converged when ``|delta| <= max(tolerance * |F(x) - F(baseline)|,
        floor)``.
    floor : float, default 0.02
        Absolute tolerance in log-odds, for windows whose output hardly moves.
    batch_windows : int, default 128
        Windows per Captum call (each call runs ``n_steps`` times as many sequences).
    method : str, default METHOD
        Captum's integration rule.

    Returns
    -------
    Attribution
    """
    model.eval()
    device = next(model.parameters()).device
    inputs = torch.as_tensor(x, dtype=torch.float32, device=device)  # (W, T, F)
    values = torch.zeros_like(inputs)
    delta = torch.zeros(len(inputs), device=device)
    used = np.zeros(len(inputs), np.int64)
    ig = IntegratedGradients(lambda batch: log_odds(model, batch))
    with _frozen(model), torch.backends.cudnn.flags(enabled=False):
        with torch.no_grad():
            output = _batched(lambda b: log_odds(model, b), inputs, batch_windows)
            base = _batched(lambda b: log_odds(model, torch.zeros_like(b)), inputs, batch_windows)
        allowed = torch.clamp(tolerance * torch.abs(output - base), min=floor)  # (W,)
        todo = torch.arange(len(inputs), device=device)
        for n_steps in steps:
            for start in range(0, len(todo), batch_windows):
                rows = todo[start : start + batch_windows]
                batch = inputs[rows]  # (B, T, F)
                attr, d = ig.attribute(
                    batch,
                    baselines=torch.zeros_like(batch),
                    n_steps=n_steps,
                    method=method,
                    return_convergence_delta=True,
                )
                values[rows], delta[rows] = attr.detach(), d.detach().float()
            used[todo.cpu().numpy()] = n_steps
            todo = todo[torch.abs(delta[todo]) > allowed[todo]]
            if not len(todo):
                break
    return Attribution(
        values=values.cpu().numpy(),
        delta=delta.cpu().numpy(),
        output=output.cpu().numpy(),
        baseline_output=base.cpu().numpy(),
        n_steps=used,
        converged=~np.isin(np.arange(len(inputs)), todo.cpu().numpy()),
    )


@contextlib.contextmanager
def _frozen(model: nn.Module) -> Iterator[None]:
    """Parameters stop requiring gradients (only input gradients are needed), then back."""
    flags = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def _batched(fn, inputs: torch.Tensor, size: int) -> torch.Tensor:
    """``fn`` over ``inputs`` in chunks of ``size`` rows, concatenated."""
    if not len(inputs):
        return torch.zeros(0, device=inputs.device)
    return torch.cat([fn(inputs[i : i + size]) for i in range(0, len(inputs), size)])
