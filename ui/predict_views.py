"""The Predict page's scores: one metric per model, the fusion's notes, in-sample warnings.

Plain functions of the scores the page computed; each draws its part of the screen.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import streamlit as st

from core.data import Corpus
from core.data.overview import UNKNOWN, label_name
from core.data.upload import UploadedSession
from core.kinds import KINDS
from core.scoring import FusionScore
from ui.common import text_alert
from ui.explain_cache import training_ids


def own_kinds() -> tuple[str, ...]:
    """The kinds scored from the participant's own files (the fusion is scored from them).

    Asked on every rerun: a kind registered after this module was imported is included.
    """
    return tuple(name for name, kind in KINDS.items() if not kind.sources)


def label_of(corpus: Corpus | None, pid: int) -> str:
    """The participant's label in the corpus's split files, or ``"unknown"``."""
    participant = corpus.participants.get(pid) if corpus is not None else None
    label = label_name(participant.phq8_binary) if participant is not None else UNKNOWN
    if label == UNKNOWN:
        return label
    if participant is not None and participant.phq8_score is not None:
        label += f" (PHQ-8 {participant.phq8_score})"
    return label


def missing_modality(modality: str, pid: int, upload: UploadedSession | None) -> dict:
    """Why a participant has no score for a modality: the damaged file, or no files."""
    why = upload.missing.get(modality) if upload is not None else None
    return {"probability": np.nan, "error": why or f"participant {pid} has no {modality} files"}


def percent(p: float | None) -> str:
    """A probability as a percentage; an em dash when there is none."""
    return "—" if p is None or not np.isfinite(p) else f"{p:.0%}"


def fusion_value(fusion: FusionScore | None, fusion_dir: str | None) -> str:
    """The fusion's metric: its probability only when every input it was trained with is there."""
    if fusion is None:
        return "—" if fusion_dir else "no run"  # a run that cannot score says why below
    return percent(fusion.probability) if fusion.complete else "not shown"


def scores_row(
    results: dict, fusion: FusionScore | None, fusion_dir: str | None, late: float, label: str
) -> None:
    """One metric per modality, the fusion, the late fusion, then the true label."""
    own = own_kinds()
    columns = st.columns(len(own) + 2)
    for column, modality in zip(columns[: len(own)], own, strict=True):
        result = results.get(modality)
        column.metric(
            f"{modality.capitalize()}",
            percent(result["probability"]) if result else "no run",
            help="Depressed-probability; audio and face: the mean over the session's windows.",
        )
    columns[-2].metric("Fusion", fusion_value(fusion, fusion_dir))
    averaged = [m for m, r in results.items() if np.isfinite(r["probability"])]
    columns[-1].metric(
        "Late fusion",
        percent(late),
        help="Mean of the modality probabilities shown: " + (", ".join(averaged) or "none"),
    )
    st.markdown(f"**True label:** {label}")


def fusion_notes(fusion: FusionScore, pid: int) -> None:
    """Which runs the fusion used, its notes, and why it is not shown when an input is missing."""
    used = ", ".join(f"{m} {Path(p).name}" for m, p in fusion.sources.items())
    st.caption(f"The fusion uses the runs it was trained with: {used}.")
    for note in fusion.notes:
        text_alert(st.caption, "Fusion:", note)  # names the upload's files
    if not fusion.complete:
        lacking = " and ".join(fusion.missing)
        st.warning(
            f"Fusion: not shown. It was trained with {_listed(fusion.available)} inputs, and "
            f"participant {pid} has no usable {lacking} input: the fusion would read zeros "
            "in its place, so its number would not be the model's view of this participant. "
            "The late fusion averages the modalities that do exist."
        )


def _listed(names: Iterable[str]) -> str:
    """``a, b and c``."""
    names = list(names)
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def has_files(modality: str, has: list[str]) -> bool:
    """Whether the participant has the session files runs of ``modality`` read.

    ``has`` is the participant's file groups (``Participant.modalities``).
    """
    return KINDS[modality].corpus_files in has


def in_sample_warnings(
    results: dict, fusion: FusionScore | None, fusion_dir: str | None, pid: int
) -> None:
    """Say so for every score shown that comes from a run trained on this participant.

    The fusion is in-sample when its own run or any of its source runs was trained on the
    participant; the late fusion when any run whose score it averages was.
    """
    trained: dict[str, bool] = {}  # run folder -> whether the participant is in its training

    def in_training(run_dir: str) -> bool:
        if run_dir not in trained:
            trained[run_dir] = pid in training_ids(run_dir)
        return trained[run_dir]

    shown = {m: r for m, r in results.items() if np.isfinite(r["probability"])}
    in_sample = [m for m, r in shown.items() if in_training(r["run_dir"])]
    for modality in in_sample:
        st.warning(
            f"{modality.capitalize()}: run {Path(shown[modality]['run_dir']).name} was "
            f"trained on participant {pid} (an ID in its training split), so this score is "
            "in-sample and says little about how the model does on new people."
        )
    if fusion is not None and fusion_dir is not None and fusion.complete:
        runs = {"fusion": fusion_dir, **fusion.sources}
        fused_on = [f"{m} {Path(r).name}" for m, r in runs.items() if in_training(r)]
        if fused_on:
            st.warning(
                f"Fusion: participant {pid} is in the training split of its run(s) "
                f"{', '.join(fused_on)}, so this score is in-sample and says little about "
                "how the model does on new people."
            )
    if in_sample:
        st.warning(
            f"Late fusion: it averages in-sample scores ({', '.join(in_sample)}), so this "
            "score is in-sample too and says little about how the models do on new people."
        )
