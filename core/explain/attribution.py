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
    next to every explanation.

Where the steps go
    Along the path from the baseline to a window, a trained LSTM often switches state
    within a small stretch: on the trained audio model, the integrand of one window
    peaked at 67 near a third of the way and stayed below 2.5 elsewhere. Uniform steps
    must then be fine everywhere (Captum's 50 Gauss-Legendre steps left 7 % of a
    15-minute session's windows over tolerance). :func:`integrated_gradients` instead
    cuts the path into pieces, integrates each with Captum (the piece's start as the
    baseline, its end as the input) and halves only the pieces whose delta is too
    large. Windows still over tolerance are counted and shown, not hidden.

CUDA
    cuDNN's LSTM backward refuses to run in eval mode. Switching the model to training
    mode would turn dropout on and change batch-norm statistics, so the attribution pass
    disables cuDNN instead (:func:`torch.backends.cudnn.flags`) and the model stays in
    eval mode.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import IntegratedGradients
from torch import nn

from core.models import NeuralClassifier

BASELINE = "the training participants' mean frame (all zeros after normalisation)"
TARGET = "log-odds of 'depressed' (logit[1] - logit[0]) of each window"
METHOD = "gausslegendre"
"""Captum's integration rule within each piece of the path."""
SEGMENTS = 4
"""Pieces of each window's path at the start (see :func:`integrated_gradients`)."""
STEPS_PER_SEGMENT = 2
"""Gauss-Legendre steps per piece."""
MAX_ROUNDS = 8
"""Most rounds of halving the pieces that are still over tolerance."""


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
    n_gradients : numpy.ndarray
        ``(W,)`` gradient evaluations each window took (its cost).
    converged : numpy.ndarray
        ``(W,)`` whether the window's ``|delta|`` is within its tolerance.
    baseline : str
        What the baseline is, in words.
    target : str
        What is attributed, in words.
    """

    values: np.ndarray
    delta: np.ndarray
    output: np.ndarray
    baseline_output: np.ndarray
    n_gradients: np.ndarray
    converged: np.ndarray
    baseline: str = BASELINE
    target: str = TARGET

    def relative_delta(self) -> float:
        """Largest ``|delta|`` over the mean ``|F(x) - F(baseline)|`` (0 when no change)."""
        if not len(self.delta):
            return 0.0
        change = float(np.mean(np.abs(self.output - self.baseline_output)))
        return float(np.max(np.abs(self.delta))) / change if change > 0 else 0.0


def log_odds(model: NeuralClassifier, x: torch.Tensor) -> torch.Tensor:
    """``logit[1] - logit[0]`` of an AudioRNN or FaceSTRNN, shape ``(B,)``."""
    logits = model.logits(x)  # (B, 2)
    return logits[:, 1] - logits[:, 0]  # (B,)


def integrated_gradients(
    model: NeuralClassifier,
    x: np.ndarray,
    tolerance: float = 0.05,
    floor: float = 0.02,
    segments: int = SEGMENTS,
    n_steps: int = STEPS_PER_SEGMENT,
    max_rounds: int = MAX_ROUNDS,
    chunk: int = 1024,
) -> Attribution:
    """Integrated Gradients of every window against the training-mean baseline.

    The straight path from the baseline (0) to each window ``x`` is cut into ``segments``
    pieces ``[a, b]``; each piece is one Captum call with input ``b * x``, baseline
    ``a * x`` and ``n_steps`` Gauss-Legendre steps. Path integrals add up, so the pieces'
    attributions sum to Integrated Gradients over the whole path, and Captum's delta of a
    piece is exactly its share of the window's convergence delta. A piece whose delta is
    larger than its share of the window's tolerance (in proportion to its length) is
    halved and computed again, up to ``max_rounds`` times: the steps go where the model's
    output changes fast (a trained LSTM often switches state within a small part of the
    path), not everywhere.

    Parameters
    ----------
    model : NeuralClassifier
        AudioRNN or FaceSTRNN; kept in eval mode, its parameters untouched.
    x : numpy.ndarray
        Normalised windows ``(W, T, F)``.
    tolerance : float, default 0.05
        A window has converged when ``|delta| <= max(tolerance * |F(x) - F(baseline)|,
        floor)``.
    floor : float, default 0.02
        Absolute tolerance in log-odds, for windows whose output hardly moves.
    segments : int, default SEGMENTS
        Pieces per path at the start.
    n_steps : int, default STEPS_PER_SEGMENT
        Gauss-Legendre steps per piece.
    max_rounds : int, default MAX_ROUNDS
        Most rounds of halving (the shortest piece is ``1 / (segments * 2**(max_rounds
        - 1))`` of the path); pieces still over tolerance then are kept as they are.
    chunk : int, default 1024
        Sequences per forward and backward pass.

    Returns
    -------
    Attribution
    """
    model.eval()
    device = next(model.parameters()).device
    inputs = torch.as_tensor(x, dtype=torch.float32, device=device)  # (W, T, F)
    n = len(inputs)
    values = torch.zeros_like(inputs)
    delta = torch.zeros(n, device=device)
    gradients = torch.zeros(n, dtype=torch.int64, device=device)
    ig = IntegratedGradients(lambda batch: log_odds(model, batch))
    with frozen_parameters(model), torch.backends.cudnn.flags(enabled=False):
        with torch.no_grad():
            output = _batched(lambda b: log_odds(model, b), inputs, chunk)
            base = _batched(lambda b: log_odds(model, torch.zeros_like(b)), inputs, chunk)
        allowed = torch.clamp(tolerance * torch.abs(output - base), min=floor)  # (W,)
        edges = torch.linspace(0.0, 1.0, segments + 1, device=device)
        window = torch.arange(n, device=device).repeat_interleave(segments)  # (S,)
        start, stop = edges[:-1].repeat(n), edges[1:].repeat(n)  # (S,), (S,)
        per_call = max(1, chunk // n_steps)
        for round_ in range(max_rounds):
            attr_pieces, delta_pieces = [], []
            for i in range(0, len(window), per_call):
                rows = window[i : i + per_call]
                a = start[i : i + per_call, None, None]  # (B, 1, 1)
                b = stop[i : i + per_call, None, None]
                piece, piece_delta = ig.attribute(
                    b * inputs[rows],
                    baselines=a * inputs[rows],
                    n_steps=n_steps,
                    method=METHOD,
                    return_convergence_delta=True,
                )
                attr_pieces.append(piece.detach())
                delta_pieces.append(piece_delta.detach().float())
            attr, d = torch.cat(attr_pieces), torch.cat(delta_pieces)  # (S, T, F), (S,)
            gradients.index_add_(0, window, torch.full_like(window, n_steps))
            done = torch.abs(d) <= allowed[window] * (stop - start)
            if round_ == max_rounds - 1:
                done[:] = True
            values.index_add_(0, window[done], attr[done])
            delta.index_add_(0, window[done], d[done])
            if done.all():
                break
            middle = (start[~done] + stop[~done]) / 2
            window = window[~done].repeat_interleave(2)
            start = torch.stack([start[~done], middle], dim=1).ravel()
            stop = torch.stack([middle, stop[~done]], dim=1).ravel()
    return Attribution(
        values=values.cpu().numpy(),
        delta=delta.cpu().numpy(),
        output=output.cpu().numpy(),
        baseline_output=base.cpu().numpy(),
        n_gradients=gradients.cpu().numpy(),
        converged=(torch.abs(delta) <= allowed).cpu().numpy(),
    )


@contextlib.contextmanager
def frozen_parameters(model: nn.Module) -> Iterator[None]:
    """Parameters stop requiring gradients (only input gradients are needed), then back."""
    flags = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def _batched(
    fn: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor, size: int
) -> torch.Tensor:
    """``fn`` over ``inputs`` in chunks of ``size`` rows, concatenated."""
    if not len(inputs):
        return torch.zeros(0, device=inputs.device)
    return torch.cat([fn(inputs[i : i + size]) for i in range(0, len(inputs), size)])
