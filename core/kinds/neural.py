"""What audio and face runs share: windows of frames, a recurrent model, epochs.

The heavy part (torch, windows, the trainer) is in :mod:`core.kinds.neural_run`;
:mod:`core.kinds.audio` and :mod:`core.kinds.face` say what differs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.kinds.base import Embedding, LoadedRun, RunKind, SplitScores


class NeuralKind(RunKind):
    """A kind whose runs read windows of frames with a recurrent model."""

    how_scored = "each participant's window probabilities averaged"

    has_epochs = True
    fusion_input = "embedding"
    drop_last = False
    """Whether training drops a last batch smaller than the batch size."""

    def feature_settings(self, features: dict[str, Any]) -> Any:
        """The :class:`core.data.features.FeatureSettings` of a configuration's features."""
        raise NotImplementedError

    def saved_model(self, class_name: str, init_kwargs: dict[str, Any]) -> Any:
        """A fresh model of the class a checkpoint names, to load its weights into."""
        from core.models import build_model

        return build_model(class_name, init_kwargs)

    def build_model(self, n_features: int, model: dict[str, Any]) -> Any:
        """A fresh model for ``n_features`` inputs and the configuration's model section."""
        raise NotImplementedError

    def trainer_class(self) -> type:
        """The trainer class that trains this kind's model."""
        raise NotImplementedError

    def train(
        self, config: dict[str, Any], run_dir: Path, *, resume: bool = False, progress: bool = True
    ) -> str:
        """Train (or resume) on the windows of the run's corpus."""
        from core.kinds.neural_run import train_neural

        return train_neural(self, config, run_dir, resume=resume, progress=progress)

    def load(self, run_dir: Path, which: str = "best", device: str = "cpu") -> LoadedRun:
        """The run's model (eval mode) with its saved configuration and normaliser."""
        from core.kinds.neural_run import load_neural_run

        model, config, normaliser = load_neural_run(run_dir, which, device)
        return LoadedRun(Path(run_dir), config, model, normaliser)

    def score_split(self, run: LoadedRun, split: str) -> SplitScores:
        """Depressed-probability of every window of the split (one row per window)."""
        from core.kinds.neural_run import predict_windows, prepare_windows

        windows, _, _ = prepare_windows(run.config, (split,), run.normaliser)
        ws = windows[split]
        return SplitScores(ws.participant_ids, predict_windows(run.model, ws.x), ws.y)

    def score_participant(
        self, run: LoadedRun, corpus: Any, pid: int, cache: Any = None, **options: Any
    ) -> Any:
        """A :class:`core.kinds.session.NeuralScore`: windows, their probabilities, embedding."""
        from core.kinds.session import score_neural

        return score_neural(run.model, run.config, run.normaliser, corpus, pid, cache)

    def embed_splits(
        self, run: LoadedRun, corpus: Any, splits: tuple[str, ...]
    ) -> dict[str, dict[int, Embedding]]:
        """Per split, each participant's mean window embedding and mean probability."""
        from core.kinds.neural_run import embed_splits

        return embed_splits(run, corpus, splits)
