"""The audio kind: COVAREP (and formant) frames read by :class:`core.models.AudioRNN`."""

from __future__ import annotations

from typing import Any

from core.kinds.neural import NeuralKind


class AudioKind(NeuralKind):
    """Audio runs."""

    name = "audio"
    corpus_files = "audio"

    def feature_settings(self, features: dict[str, Any]) -> Any:
        """COVAREP, with FORMANT appended when ``include_formant``."""
        from core.data.features import FeatureSettings

        sets = ("covarep", "formant") if features.get("include_formant") else ("covarep",)
        return FeatureSettings(sets, features.get("rate_hz"), features.get("gate", "participant"))

    def build_model(self, n_features: int, model: dict[str, Any]) -> Any:
        """A fresh AudioRNN."""
        from core.models import AudioRNN

        return AudioRNN(n_features, model["hidden_size"], model["num_layers"], model["dropout"])

    def trainer_class(self) -> type:
        """:class:`core.training.trainers.AudioRNNTrainer`."""
        from core.training.trainers import AudioRNNTrainer

        return AudioRNNTrainer
