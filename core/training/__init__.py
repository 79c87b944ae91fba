"""Training: device and seeding, in-device batches, the trainer loop and checkpoints."""

from core.training.base import (
    BaseTrainer,
    Callback,
    TqdmProgress,
    class_weights_from_participants,
)
from core.training.batches import WindowBatches
from core.training.checkpoint import (
    BEST_NAME,
    FORMAT_VERSION,
    LATEST_NAME,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from core.training.device import choose_device, seed_everything
from core.training.early_stopping import EarlyStoppingState, early_stopping_decision
from core.training.trainers import (
    AudioRNNTrainer,
    FaceSTRNNTrainer,
    MultimodalFusionTrainer,
    WindowClassifierTrainer,
    participant_validation_metrics,
)

__all__ = [
    "BEST_NAME",
    "FORMAT_VERSION",
    "LATEST_NAME",
    "AudioRNNTrainer",
    "BaseTrainer",
    "Callback",
    "CheckpointError",
    "EarlyStoppingState",
    "FaceSTRNNTrainer",
    "MultimodalFusionTrainer",
    "TqdmProgress",
    "WindowBatches",
    "WindowClassifierTrainer",
    "choose_device",
    "class_weights_from_participants",
    "early_stopping_decision",
    "load_checkpoint",
    "participant_validation_metrics",
    "save_checkpoint",
    "seed_everything",
]
