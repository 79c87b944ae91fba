"""The face kind: OpenFace frames read by :class:`core.models.FaceSTRNN`."""

from __future__ import annotations

from typing import Any

from core.kinds.neural import NeuralKind


class FaceKind(NeuralKind):
    """Face runs; training drops a short last batch (the spatial attention's batch norm)."""

    name = "face"
    drop_last = True
    corpus_files = "face"

    def feature_settings(self, features: dict[str, Any]) -> Any:
        """The chosen CLNF groups (``face_features``)."""
        from core.data.features import FeatureSettings

        sets = tuple(features.get("face_features", ("aus", "pose", "gaze")))
        return FeatureSettings(sets, features.get("rate_hz"), features.get("gate", "participant"))

    def build_model(self, n_features: int, model: dict[str, Any]) -> Any:
        """A fresh FaceSTRNN with two classes."""
        from core.models import FaceSTRNN

        return FaceSTRNN(n_features, model["hidden_size"], model["num_layers"], 2, model["dropout"])

    def trainer_class(self) -> type:
        """:class:`core.training.trainers.WindowClassifierTrainer` (no clipping by default)."""
        from core.training.trainers import WindowClassifierTrainer

        return WindowClassifierTrainer
