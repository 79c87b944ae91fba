"""The text kind: TF-IDF and a Random Forest on one document per participant, no epochs.

The heavy part (scikit-learn, the fitted pipeline, the saved files) is in
:mod:`core.kinds.text_run`; this class says what a text run is to everyone else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.kinds.base import Embedding, LoadedRun, RunKind, SplitScores
from core.runs import folder

MODEL_INFO = folder.TEXT_MODEL_INFO
"""What a fitted text run records about its pipeline (file name and sha256)."""


class TextKind(RunKind):
    """Text runs: fitted once, no epochs, one saved pipeline named in ``model.json``."""

    name = "text"
    how_scored = "one document of each participant's words, so one probability per participant"
    has_epochs = False
    document_level = True
    uses_torch = False
    fusion_input = "probability"
    corpus_files = "text"

    def train(
        self, config: dict[str, Any], run_dir: Path, *, resume: bool = False, progress: bool = True
    ) -> str:
        """Fit the run's pipeline (``resume`` is refused by :meth:`check_resumable`)."""
        from core.kinds.text_run import train_text

        return train_text(config, run_dir)

    def model_file(self, run_dir: Path, which: str = "best") -> Path | None:
        """The fitted pipeline named in ``model.json`` (a text run keeps only one)."""
        info = folder.read_json(Path(run_dir) / MODEL_INFO)
        if info and (Path(run_dir) / info.get("file", "")).is_file():
            return Path(run_dir) / info["file"]
        return None

    def load(self, run_dir: Path, which: str = "best", device: str = "cpu") -> LoadedRun:
        """The run's fitted pipeline, after checking its recorded hash."""
        from core.kinds.text_run import load_text_run

        return LoadedRun(Path(run_dir), folder.read_config(run_dir), load_text_run(run_dir))

    def score_split(self, run: LoadedRun, split: str) -> SplitScores:
        """Depressed-probability of each labelled participant with a readable transcript."""
        from core.config import open_corpus
        from core.kinds.text_run import predict_text

        corpus = open_corpus(run.config)
        ids, probs, labels = predict_text(run.model, corpus, split, run.config["text"]["speakers"])
        return SplitScores(np.asarray(ids), np.asarray(probs), np.asarray(labels))

    def score_participant(
        self, run: LoadedRun, corpus: Any, pid: int, cache: Any = None, **options: Any
    ) -> Any:
        """A :class:`core.kinds.text_run.TextScore` for one participant's transcript."""
        from core.kinds.text_run import score_text

        return score_text(run.run_dir, corpus, pid, run.model)

    def embed_splits(
        self, run: LoadedRun, corpus: Any, splits: tuple[str, ...]
    ) -> dict[str, dict[int, Embedding]]:
        """Per split, each participant's probability (out-of-fold for training participants).

        In-sample Random Forest probabilities are near-perfect and would teach the fusion
        to trust text blindly, so a participant the run was trained on gets its
        out-of-fold probability (:func:`core.kinds.text_run.fusion_probabilities`).
        """
        from core.kinds.text_run import fusion_probabilities, predict_text

        out: dict[str, dict[int, Embedding]] = {}
        for split in splits:
            ids, probs, _ = predict_text(run.model, corpus, split, run.config["text"]["speakers"])
            probs, _ = fusion_probabilities(run.run_dir, corpus, ids, probs)
            out[split] = {int(pid): (None, float(p)) for pid, p in zip(ids, probs, strict=True)}
        return out
