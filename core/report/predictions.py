"""One probability per participant: the values every section of the report is built from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Predictions:
    """Participants with their labels and depressed-probabilities, aligned.

    Attributes
    ----------
    ids : numpy.ndarray
        ``(P,)`` participant IDs, int64.
    labels : numpy.ndarray
        ``(P,)`` 0/1, int64.
    probs : numpy.ndarray
        ``(P,)`` depressed-probabilities, float64.
    """

    ids: np.ndarray
    labels: np.ndarray
    probs: np.ndarray

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids, dtype=np.int64)
        labels = np.asarray(self.labels, dtype=np.int64)
        probs = np.asarray(self.probs, dtype=np.float64)
        if not (ids.shape == labels.shape == probs.shape) or ids.ndim != 1:
            raise ValueError(
                f"ids {ids.shape}, labels {labels.shape} and probs {probs.shape} must be "
                "1-D arrays of one length"
            )
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "probs", probs)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_report(cls, report: dict[str, Any]) -> Predictions:
        """The ``participants`` of a :func:`core.evaluate.evaluate_run` report."""
        rows = report.get("participants") or []
        return cls(
            np.array([int(r["id"]) for r in rows], dtype=np.int64),
            np.array([int(r["label"]) for r in rows], dtype=np.int64),
            np.array([float(r["prob"]) for r in rows], dtype=np.float64),
        )

    def subset(self, ids: Iterable[int]) -> Predictions:
        """These predictions of ``ids``, in the order given (IDs not scored are skipped)."""
        position = {int(pid): k for k, pid in enumerate(self.ids)}
        take = np.array([position[int(i)] for i in ids if int(i) in position], dtype=np.int64)
        return Predictions(self.ids[take], self.labels[take], self.probs[take])


def common_ids(*predictions: Predictions) -> np.ndarray:
    """The participants every one of ``predictions`` scores, sorted."""
    ids = predictions[0].ids
    for other in predictions[1:]:
        ids = np.intersect1d(ids, other.ids)
    return np.sort(ids)
