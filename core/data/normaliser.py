"""Per-feature standardisation fitted on the training participants' frames."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Normaliser:
    """Per-feature standardisation fitted on training frames (scikit-learn style).

    Attributes
    ----------
    mean_ : numpy.ndarray
        Mean of each feature over the finite values of the fitted bins, shape ``(F,)``,
        float64.
    scale_ : numpy.ndarray
        Standard deviation over the finite values (ddof 0), 1.0 where it is 0 or undefined.
    n_features_in_ : int
        ``F``.
    feature_names_in_ : list of str or None
        Names given to :meth:`fit`, if any.
    """

    def fit(
        self, frames: Sequence[np.ndarray], feature_names: Sequence[str] | None = None
    ) -> Normaliser:
        """Compute the statistics over every row of every array in ``frames``.

        Parameters
        ----------
        frames : sequence of numpy.ndarray
            Arrays of shape ``(n_i, F)`` (one per training participant); non-finite
            values (NaN, inf) are ignored.
        feature_names : sequence of str, optional
            Names of the ``F`` columns, kept for checkpoints.

        Returns
        -------
        Normaliser
            ``self``.

        Raises
        ------
        ValueError
            No array, or arrays of different widths.
        """
        frames = [np.asarray(f) for f in frames]
        if not frames:
            raise ValueError("nothing to fit: no training participant has frames")
        widths = {f.shape[1] for f in frames}
        if len(widths) != 1:
            raise ValueError(f"frames have different numbers of features: {sorted(widths)}")
        width = widths.pop()
        total, count = np.zeros(width), np.zeros(width)
        for f in frames:  # one pass per participant, accumulated in float64
            finite = np.isfinite(f)  # inf is no more a value than NaN
            total += np.sum(f, axis=0, dtype=np.float64, where=finite)
            count += np.sum(finite, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count
        squares = np.zeros(width)
        for f in frames:
            deviation = f.astype(np.float64) - mean
            squares += np.sum(deviation**2, axis=0, where=np.isfinite(deviation))
        with np.errstate(invalid="ignore", divide="ignore"):
            std = np.sqrt(squares / count)
        self.mean_ = np.where(np.isfinite(mean), mean, 0.0)
        self.scale_ = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        self.n_features_in_ = width
        self.feature_names_in_ = None if feature_names is None else list(feature_names)
        return self

    def transform(self, values: np.ndarray, copy: bool = True) -> np.ndarray:
        """Standardise ``values`` of shape ``(..., F)``; NaN becomes 0.

        Parameters
        ----------
        values : numpy.ndarray
            Shape ``(..., F)``.
        copy : bool, default True
            False: work in place when ``values`` is already a float32 array.

        Returns
        -------
        numpy.ndarray
            float32, same shape.
        """
        if not hasattr(self, "mean_"):
            raise RuntimeError("this Normaliser is not fitted yet; call fit() first")
        out = np.array(values, dtype=np.float32, copy=copy or None)  # (..., F)
        out -= self.mean_.astype(np.float32)
        out /= self.scale_.astype(np.float32)
        np.copyto(out, 0.0, where=~np.isfinite(out))  # NaN and +-inf -> 0, in one pass
        return out

    def to_dict(self) -> dict:
        """Plain lists, for checkpoints loaded with ``weights_only=True``."""
        return {
            "mean": [float(v) for v in self.mean_],
            "scale": [float(v) for v in self.scale_],
            "feature_names": self.feature_names_in_,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Normaliser:
        """Rebuild a fitted normaliser from :meth:`to_dict`'s output."""
        out = cls()
        out.mean_ = np.asarray(data["mean"], dtype=np.float64)
        out.scale_ = np.asarray(data["scale"], dtype=np.float64)
        out.n_features_in_ = len(out.mean_)
        names = data.get("feature_names")
        out.feature_names_in_ = None if names is None else list(names)
        return out
