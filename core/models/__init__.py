"""Model definitions: audio, face, text and fusion.

The neural models keep the reference parameter names and ``forward`` outputs and share
:class:`~core.models.interface.NeuralClassifier` (``logits``, ``embed``,
``logits_from_embedding``, ``attend``).
"""

from __future__ import annotations

from core.models.audio_rnn import AudioRNN
from core.models.face_strnn import FaceSTRNN, SpatialAttention, TemporalAttention
from core.models.fusion import FusionNet, late_fusion
from core.models.interface import Attention, NeuralClassifier
from core.models.text import (
    fit_text_pipeline,
    load_text_model,
    make_text_pipeline,
    out_of_fold_proba,
    save_text_model,
)

#: Torch model classes a checkpoint may name, keyed by class name.
MODEL_CLASSES: dict[str, type[NeuralClassifier]] = {
    "AudioRNN": AudioRNN,
    "FaceSTRNN": FaceSTRNN,
    "FusionNet": FusionNet,
}


def build_model(class_name: str, init_kwargs: dict) -> NeuralClassifier:
    """Rebuild a torch model from the class name and ``init_kwargs`` saved in a checkpoint.

    Parameters
    ----------
    class_name : str
        One of :data:`MODEL_CLASSES`.
    init_kwargs : dict
        The model's ``init_kwargs`` attribute as saved.

    Returns
    -------
    NeuralClassifier
        A freshly initialised model; load the state dict into it.

    Raises
    ------
    ValueError
        If ``class_name`` is unknown.
    """
    if class_name not in MODEL_CLASSES:
        raise ValueError(
            f"Unknown model class {class_name!r} in checkpoint; expected one of "
            f"{sorted(MODEL_CLASSES)}."
        )
    return MODEL_CLASSES[class_name](**init_kwargs)


__all__ = [
    "MODEL_CLASSES",
    "Attention",
    "AudioRNN",
    "FaceSTRNN",
    "FusionNet",
    "NeuralClassifier",
    "SpatialAttention",
    "TemporalAttention",
    "build_model",
    "fit_text_pipeline",
    "late_fusion",
    "load_text_model",
    "make_text_pipeline",
    "out_of_fold_proba",
    "save_text_model",
]
