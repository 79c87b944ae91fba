"""Why an audio or face run scored a participant the way it did.

For one session (:class:`~core.kinds.session.SessionWindows`) this gathers, window by
window: the depressed-probability, the model's attention (AudioRNN's attention over time;
FaceSTRNN's temporal attention and its spatial gate, one gate per time step) and
Integrated Gradients attributions per feature and step (:mod:`core.explain.attribution`).

Attention weights show where the model *looked*, not why it decided: they are one layer's
softmax, and very different weights can give the same output. They are therefore always
shown beside the attributions, which satisfy completeness (they add up to the change in
log-odds from the baseline).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from core.explain.attribution import Attribution, integrated_gradients
from core.kinds.session import SessionWindows
from core.models import NeuralClassifier

ATTENTION_CAVEAT = (
    "Attention weights show where the model looked, not why it decided: they are not a "
    "faithful explanation by themselves (different weights can give the same output). "
    "Read them beside the Integrated Gradients attributions, which add up to the change "
    "in the model's log-odds."
)


@dataclass
class SessionExplanation:
    """Attention, gates and attributions of one session under one model.

    Attributes
    ----------
    windows : SessionWindows
        The inputs (with times, feature names and participant turns).
    window_probs : numpy.ndarray
        ``(W,)`` depressed-probability of each window.
    attention : numpy.ndarray
        ``(W, T)`` attention over time (softmax within each window).
    spatial : numpy.ndarray or None
        ``(W, T)`` FaceSTRNN's spatial gate in (0, 1); None for audio.
    attribution : Attribution
        Integrated Gradients, ``(W, T, F)``.
    """

    windows: SessionWindows
    window_probs: np.ndarray
    attention: np.ndarray
    spatial: np.ndarray | None
    attribution: Attribution

    @property
    def probability(self) -> float:
        """The participant's depressed-probability: the mean over windows (NaN if none)."""
        return float(self.window_probs.mean()) if len(self.window_probs) else float("nan")

    def feature_table(self) -> pd.DataFrame:
        """Per-feature attribution, most influential first.

        Returns
        -------
        pandas.DataFrame
            ``feature``; ``contribution``: the mean over windows of the feature's summed
            attribution (log-odds; positive pushes towards "depressed"); ``magnitude``:
            the same with absolute values per step; ``share``: magnitude over the total.
            Sorted by ``magnitude``.
        """
        values = self.attribution.values  # (W, T, F)
        contribution = values.sum(axis=1).mean(axis=0) if len(values) else 0.0  # (F,)
        magnitude = np.abs(values).sum(axis=1).mean(axis=0) if len(values) else 0.0  # (F,)
        table = pd.DataFrame(
            {
                "feature": self.windows.feature_names,
                "contribution": contribution,
                "magnitude": magnitude,
            }
        )
        total = float(table["magnitude"].sum())
        table["share"] = table["magnitude"] / total if total > 0 else 0.0
        return table.sort_values("magnitude", ascending=False, ignore_index=True)


@torch.no_grad()
def _attention(model: NeuralClassifier, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Probabilities, attention over time and (when the model has one) spatial gate."""
    attention = model.attend(x)  # logits (B, 2), temporal (B, T), spatial (B, T) or None
    probs = torch.softmax(attention.logits, dim=1)[:, 1]  # (B,)
    if attention.spatial is None:
        return probs, attention.temporal
    return probs, attention.temporal, attention.spatial


def explain_session(
    model: NeuralClassifier, windows: SessionWindows, batch_windows: int = 256
) -> SessionExplanation:
    """Attention, spatial gate and Integrated Gradients for every window of a session.

    Parameters
    ----------
    model : NeuralClassifier
        A run's AudioRNN or FaceSTRNN (eval mode is set here).
    windows : SessionWindows
        The session's windows under that run's settings.
    batch_windows : int, default 256
        Windows per forward pass.

    Returns
    -------
    SessionExplanation
    """
    model.eval()
    device = next(model.parameters()).device
    parts: list[tuple[torch.Tensor, ...]] = []
    with torch.backends.cudnn.flags(enabled=False):  # same kernels as the attribution pass
        for start in range(0, len(windows.x), batch_windows):
            xb = torch.as_tensor(windows.x[start : start + batch_windows], device=device)
            parts.append(tuple(t.float().cpu() for t in _attention(model, xb)))
    n_steps = windows.x.shape[1]
    if parts:
        columns = [torch.cat(c).numpy() for c in zip(*parts, strict=True)]
    else:
        columns = [np.zeros(0), np.zeros((0, n_steps)), np.zeros((0, n_steps))]
    return SessionExplanation(
        windows=windows,
        window_probs=columns[0],
        attention=columns[1],
        spatial=columns[2] if model.has_spatial_gate else None,
        attribution=integrated_gradients(model, windows.x),
    )


LANDMARKS = 68


def landmark_attribution(
    feature_table: pd.DataFrame, mean_shape: dict[str, float]
) -> pd.DataFrame | None:
    """The 68 face points with their summed attribution, when landmarks were used.

    Parameters
    ----------
    feature_table : pandas.DataFrame
        :meth:`SessionExplanation.feature_table`.
    mean_shape : dict
        Feature name to its training mean (the run's normaliser), giving the average
        centred, inter-ocular-scaled face for drawing.

    Returns
    -------
    pandas.DataFrame or None
        ``point`` (0-67), ``x``, ``y`` (mean shape), ``contribution`` and ``magnitude``
        (the point's ``x`` and ``y`` features together); None without landmark features.
    """
    by_name = feature_table.set_index("feature")
    names = [f"{axis}{i}" for axis in "xy" for i in range(LANDMARKS)]
    if not all(n in by_name.index for n in names):
        return None
    rows = []
    for i in range(LANDMARKS):
        pair = by_name.loc[[f"x{i}", f"y{i}"]]
        rows.append(
            {
                "point": i,
                "x": mean_shape[f"x{i}"],
                "y": mean_shape[f"y{i}"],
                "contribution": float(pair["contribution"].sum()),
                "magnitude": float(pair["magnitude"].sum()),
            }
        )
    return pd.DataFrame(rows)
