"""The fusion kind: one small network over the outputs of its source runs.

The heavy part (the inputs, the trainer, scoring) is in :mod:`core.kinds.fusion_run`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.kinds.base import Embedding, LoadedRun, RunKind, SplitScores


def source_modalities() -> tuple[str, ...]:
    """Every kind that can be a fusion input, in mask order: embeddings, then probabilities.

    Each group in :data:`core.kinds.KINDS` order; with the built-in kinds: audio, face,
    text (the order of the original fusion's mask).
    """
    from core.kinds import KINDS

    inputs = [(kind.fusion_input, name) for name, kind in KINDS.items() if kind.fusion_input]
    return tuple(name for group in ("embedding", "probability") for g, name in inputs if g == group)


class FusionKind(RunKind):
    """Fusion runs: trained on finished source runs named in ``config["sources"]``."""

    name = "fusion"
    how_scored = (
        "one probability per participant from the audio and face embeddings and the text "
        "probability; late fusion is the mean of the modalities' probabilities"
    )
    has_epochs = True

    @property
    def sources(self) -> tuple[str, ...]:  # type: ignore[override]
        """Every kind that can be a fusion input (:func:`source_modalities`)."""
        return source_modalities()

    def train(
        self, config: dict[str, Any], run_dir: Path, *, resume: bool = False, progress: bool = True
    ) -> str:
        """Train (or resume) on the source runs' embeddings and probabilities."""
        from core.kinds.fusion_run import train_fusion

        return train_fusion(config, run_dir, resume=resume, progress=progress)

    def load(self, run_dir: Path, which: str = "best", device: str = "cpu") -> LoadedRun:
        """The fusion network (eval mode, CPU) with the configuration in its checkpoint."""
        from core.kinds.fusion_run import load_fusion_run

        model, config = load_fusion_run(run_dir, which)
        return LoadedRun(Path(run_dir), config, model)

    def score_split(self, run: LoadedRun, split: str) -> SplitScores:
        """Per participant: the fusion's, the late-fusion baseline's and each input's score."""
        from core.kinds.fusion_run import predict_fusion

        result = predict_fusion(run, split)
        return SplitScores(
            result["ids"],
            result["fusion"],
            result["labels"],
            {"late_fusion": result["late_fusion"], "modalities": result["modalities"]},
        )

    def score_participant(
        self, run: LoadedRun, corpus: Any, pid: int, cache: Any = None, **options: Any
    ) -> Any:
        """A :class:`core.kinds.fusion_run.FusionScore` through the run's own source runs.

        ``options`` go to :func:`core.kinds.fusion_run.score_fusion` (``neural``,
        ``text``, ``unusable``).
        """
        from core.kinds.fusion_run import score_fusion

        return score_fusion(run.run_dir, corpus, pid, cache, loaded=run, **options)

    def embed_splits(
        self, run: LoadedRun, corpus: Any, splits: tuple[str, ...]
    ) -> dict[str, dict[int, Embedding]]:
        """A fusion run is not an input to another fusion."""
        raise NotImplementedError("fusion runs are not fusion inputs")
