"""What every run kind provides: the :class:`RunKind` interface and the values it passes.

A run kind (text, audio, face, fusion) owns everything that differs between kinds of
run: how a run is trained and resumed, which file holds its best model and how it is
loaded, how participants are scored (a whole split, or one participant) and embedded
for the fusion. Everything else (the command line, evaluation, the runs table, scoring
and the pages) asks the kind instead of comparing modality names.

Kind objects are cheap to import: the heavy modules (torch, scikit-learn) are imported
inside their methods, so the runs table can ask a kind which file holds a run's best
model without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from core.runs import folder

CHECKPOINTS = ("best", "latest")
"""Which saved model to load: the best (by the run's monitor on dev) or the latest epoch's."""


@dataclass
class LoadedRun:
    """A saved model with what it needs to score participants.

    Attributes
    ----------
    run_dir : pathlib.Path
        The run folder.
    config : dict
        The run's configuration (for neural and fusion runs, the one saved in the
        checkpoint, with ``data.normaliser`` and the input sizes).
    model : Any
        A torch module in eval mode, or a fitted scikit-learn pipeline (text).
    normaliser : Normaliser or None
        Audio and face runs: the feature normaliser fitted on the training participants.
    """

    run_dir: Path
    config: dict[str, Any]
    model: Any
    normaliser: Any = None


@dataclass
class SplitScores:
    """A run's depressed-probabilities on one split.

    Attributes
    ----------
    ids : numpy.ndarray
        ``(N,)`` participant ID of each scored item (audio and face: one per window).
    probs : numpy.ndarray
        ``(N,)`` depressed-probability of each item.
    labels : numpy.ndarray
        ``(N,)`` 0/1 label of each item (-1 unknown).
    extra : dict
        Kind-specific arrays per participant (fusion: ``late_fusion`` and
        ``modalities``).
    """

    ids: np.ndarray
    probs: np.ndarray
    labels: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


class Score(Protocol):
    """What scoring one participant returns, whatever the kind."""

    @property
    def probability(self) -> float:
        """The participant's depressed-probability (NaN when it cannot be scored)."""


Embedding = tuple[np.ndarray | None, float]
"""A participant as a fusion input: embedding (None for text) and depressed-probability."""


class RunKind:
    """One kind of run; subclasses fill in the methods (see :mod:`core.kinds`).

    Attributes
    ----------
    name : str
        The modality as configurations name it (``config["modality"]``).
    has_epochs : bool
        Whether the run trains in epochs: it can then be resumed, shows learning curves
        and keeps a latest as well as a best checkpoint.
    sources : tuple of str
        The kinds of run this kind is trained on (fusion: audio, face and text runs,
        named in ``config["sources"]``); empty for kinds trained on the corpus itself.
    how_scored : str
        How a participant's probability comes about, in words for captions.
    document_level : bool
        Whether a run reads one document per participant (text): the report then shows
        its document setting, fits calibration on its out-of-fold training
        probabilities, audits it by the speakers its documents hold and lists its top
        terms; otherwise it audits attributions over frames.
    uses_torch : bool
        Whether its runs train a torch model (and so may use a GPU).
    fusion_input : {"embedding", "probability"} or None
        What a run of this kind gives a fusion per participant: an embedding (and its
        probability), its probability alone, or nothing (not a fusion source).
    corpus_files : str or None
        The group of session files its runs read, as the corpus lists a participant's
        (``Participant.modalities``, :data:`core.data.formats.MODALITY_FILES`); None for
        a kind trained on other runs.
    hparams_like : str or None
        A kind added by :func:`core.kinds.register`: the modality of the hyper-parameter
        table whose settings it takes (:func:`core.hparams.register_modality`), with
        ``hparam_defaults`` where its defaults differ.
    """

    name: ClassVar[str] = ""
    has_epochs: ClassVar[bool] = True
    document_level: ClassVar[bool] = False
    uses_torch: ClassVar[bool] = True
    fusion_input: ClassVar[str | None] = None
    corpus_files: ClassVar[str | None] = None
    hparams_like: ClassVar[str | None] = None
    hparam_defaults: ClassVar[dict[str, Any]] = {}
    sources: ClassVar[tuple[str, ...]] = ()
    how_scored: ClassVar[str] = "one probability per participant"

    def __repr__(self) -> str:
        return f"<run kind {self.name}>"

    # ------------------------------------------------------------------ training
    def train(
        self, config: dict[str, Any], run_dir: Path, *, resume: bool = False, progress: bool = True
    ) -> str:
        """Train (or resume) a run in ``run_dir``; return its final state.

        Parameters
        ----------
        config : dict
            The run configuration (:func:`core.config.make_config`).
        run_dir : pathlib.Path
            The run folder, holding ``config.json``.
        resume : bool, default False
            Continue from the latest checkpoint (kinds with epochs only).
        progress : bool, default True
            Show a progress bar.
        """
        raise NotImplementedError

    def check_resumable(self, config: dict[str, Any]) -> None:
        """Raise ValueError, saying why, when runs of this kind cannot be resumed."""
        if not self.has_epochs:
            raise ValueError(
                f"{self.name} runs have no epochs to resume; start a new {self.name} run"
            )

    # ------------------------------------------------------------------ saved models
    def model_file(self, run_dir: Path, which: str = "best") -> Path | None:
        """The file holding a run's best (or latest) model; None when there is none yet."""
        path = Path(run_dir) / (folder.BEST if which == "best" else folder.LATEST)
        return path if path.exists() else None

    def load(self, run_dir: Path, which: str = "best", device: str = "cpu") -> LoadedRun:
        """Load a run's best (or latest) model.

        Parameters
        ----------
        run_dir : pathlib.Path
            Run folder.
        which : {"best", "latest"}
            Which saved model (kinds without epochs keep only one).
        device : str
            Where to put a torch model.

        Raises
        ------
        CheckpointError
            A torch checkpoint is missing or damaged.
        FileNotFoundError
            A text run has no fitted model.
        """
        raise NotImplementedError

    # ------------------------------------------------------------------ scoring
    def score_split(self, run: LoadedRun, split: str) -> SplitScores:
        """Score every participant of one split of the run's corpus."""
        raise NotImplementedError

    def score_participant(
        self, run: LoadedRun, corpus: Any, pid: int, cache: Any = None, **options: Any
    ) -> Score:
        """Score one participant of ``corpus`` (any split, or an upload)."""
        raise NotImplementedError

    def embed_splits(
        self, run: LoadedRun, corpus: Any, splits: tuple[str, ...]
    ) -> dict[str, dict[int, Embedding]]:
        """Each split's participants as fusion inputs: per split, ID to :data:`Embedding`."""
        raise NotImplementedError
