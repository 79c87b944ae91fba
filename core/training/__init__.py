"""Training: device, seeding, batches, the trainer loop, its callbacks and checkpoints."""

from core.training.base import BaseTrainer
from core.training.batches import WindowBatches
from core.training.callbacks import (
    Callback,
    Checkpointing,
    EarlyStopping,
    LRScheduler,
    Monitor,
    TqdmProgress,
)
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
    WindowClassifierTrainer,
    class_weights_from_participants,
    participant_validation_metrics,
)

__all__ = [
    "BEST_NAME",
    "FORMAT_VERSION",
    "LRScheduler",
    "Monitor",
    "LATEST_NAME",
    "AudioRNNTrainer",
    "BaseTrainer",
    "Callback",
    "CheckpointError",
    "Checkpointing",
    "EarlyStopping",
    "EarlyStoppingState",
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
