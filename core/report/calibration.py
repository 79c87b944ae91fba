"""Calibration: reliability diagram, Brier score, expected calibration error, recalibration.

A recalibration map (Platt's logistic scaling of the log-odds, or isotonic regression,
both scikit-learn) is fitted on one set of participants, the *fitting set*: a text run's
out-of-fold training probabilities, or another run's training-split predictions. It is
never fitted on a split it is judged on: :meth:`Recalibration.apply` refuses any
participant it was fitted on, so dev and test figures after calibration are honest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from core.report.predictions import Predictions

N_BINS = 10
"""Equal-width probability bins of the reliability diagram and the ECE."""
METHODS = {
    "platt": "Platt scaling (a logistic regression on the log-odds)",
    "isotonic": "isotonic regression",
}
EPS = 1e-6


def _bins(probs: np.ndarray, n_bins: int) -> np.ndarray:
    """Each probability's bin, as scikit-learn's ``calibration_curve`` bins them."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.searchsorted(edges[1:-1], probs)


def expected_calibration_error(
    labels: np.ndarray, probs: np.ndarray, n_bins: int = N_BINS
) -> float:
    """Expected calibration error over equal-width bins.

    The mean over participants of ``|share depressed in the bin - mean probability in
    the bin|`` of their bin (the bins' gaps weighted by how many participants they hold).

    Parameters
    ----------
    labels : numpy.ndarray
        ``(P,)`` 0/1.
    probs : numpy.ndarray
        ``(P,)`` depressed-probabilities in [0, 1].
    n_bins : int
        Equal-width bins over [0, 1], binned as ``calibration_curve`` bins.
    """
    y = np.asarray(labels, dtype=float)
    p = np.asarray(probs, dtype=float)
    bins = _bins(p, n_bins)  # (P,)
    counts = np.bincount(bins, minlength=n_bins)
    gaps = np.abs(np.bincount(bins, y, n_bins) - np.bincount(bins, p, n_bins))  # per bin, summed
    return float(gaps.sum() / max(counts.sum(), 1))


def calibration_summary(predictions: Predictions, n_bins: int = N_BINS) -> dict[str, Any]:
    """Brier score, ECE and the reliability diagram's points of one set of predictions.

    Returns
    -------
    dict
        ``n``, ``brier``, ``ece``, ``observed`` and ``predicted`` (per non-empty bin:
        the share depressed and the mean probability, scikit-learn's
        :func:`~sklearn.calibration.calibration_curve`) and ``counts`` (participants in
        each of those bins).
    """
    y, p = predictions.labels, predictions.probs
    observed, predicted = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    bins = _bins(p, n_bins)
    counts = np.bincount(bins, minlength=n_bins)
    return {
        "n": int(len(y)),
        "brier": float(brier_score_loss(y, p, labels=[0, 1])),
        "ece": expected_calibration_error(y, p, n_bins),
        "observed": [float(v) for v in observed],
        "predicted": [float(v) for v in predicted],
        "counts": [int(c) for c in counts[counts > 0]],
    }


def _log_odds(probs: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(probs, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p)).reshape(-1, 1)  # (P, 1)


@dataclass
class Recalibration:
    """A map from a run's probabilities to calibrated ones, and whom it was fitted on.

    Follows scikit-learn's estimator contract: ``__init__`` stores, :meth:`fit` learns.

    Parameters
    ----------
    method : {"platt", "isotonic"}
        See :data:`METHODS`.
    """

    method: str = "platt"
    fitted_ids_: frozenset[int] = field(default=frozenset(), init=False)
    model_: Any = field(default=None, init=False)

    def fit(self, fitting: Predictions) -> Recalibration:
        """Learn the map on the fitting set (both classes needed); returns self.

        Raises
        ------
        ValueError
            An unknown method, or a fitting set with one class only.
        """
        if self.method not in METHODS:
            raise ValueError(f"calibration method {self.method!r}: choose one of {tuple(METHODS)}")
        if np.unique(fitting.labels).size < 2:
            raise ValueError("the calibration fitting set holds one class only; nothing to fit")
        if self.method == "platt":
            self.model_ = LogisticRegression(C=1e6).fit(_log_odds(fitting.probs), fitting.labels)
        else:
            self.model_ = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(
                fitting.probs, fitting.labels
            )
        self.fitted_ids_ = frozenset(int(i) for i in fitting.ids)
        return self

    def apply(self, judged: Predictions) -> Predictions:
        """The judged participants' calibrated probabilities.

        Raises
        ------
        ValueError
            Not fitted, or a judged participant is one the map was fitted on: a split
            is never judged by a calibration fitted on it.
        """
        if self.model_ is None:
            raise ValueError("fit the calibration before applying it")
        if overlap := sorted(self.fitted_ids_ & {int(i) for i in judged.ids}):
            raise ValueError(
                f"participants {overlap[:10]} are in the calibration's fitting set and in the "
                "split it would be judged on; a calibration is never judged on its own data"
            )
        if self.method == "platt":
            probs = self.model_.predict_proba(_log_odds(judged.probs))[:, 1]
        else:
            probs = self.model_.predict(judged.probs)
        return Predictions(judged.ids, judged.labels, np.asarray(probs, dtype=float))


def calibration_section(
    judged: dict[str, Predictions],
    fitting: Predictions | None,
    fitting_note: str,
    method: str | None = "platt",
) -> dict[str, Any]:
    """Calibration of each judged split, before and (when a map is fitted) after.

    Parameters
    ----------
    judged : dict
        Split name (``dev``, ``test``) to its participants' predictions.
    fitting : Predictions or None
        The fitting set (never one of the judged splits); None when there is none.
    fitting_note : str
        What the fitting set is, or why there is none, for the reader.
    method : {"platt", "isotonic"} or None
        The recalibration; None for none.

    Returns
    -------
    dict
        ``splits`` (per split: ``before`` and, when calibrated, ``after``, each a
        :func:`calibration_summary`), ``method``, ``method_text``, ``fitting`` (its
        ``n`` and ``note``) and ``notes`` (why no calibration was fitted, if so).
    """
    out: dict[str, Any] = {
        "method": None,
        "method_text": None,
        "fitting": {"n": 0 if fitting is None else len(fitting.ids), "note": fitting_note},
        "splits": {},
        "notes": [],
    }
    recalibration = None
    if method and fitting is not None:
        try:
            recalibration = Recalibration(method).fit(fitting)
            out["method"], out["method_text"] = method, METHODS[method]
        except ValueError as error:
            out["notes"].append(f"no calibration fitted: {error}")
    for split, predictions in judged.items():
        entry = {"before": calibration_summary(predictions)}
        if recalibration is not None:
            entry["after"] = calibration_summary(recalibration.apply(predictions))
        out["splits"][split] = entry
    return out
