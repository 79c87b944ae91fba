"""Predict page: one participant through every model, the fusion and the late fusion.

The participant comes from the active corpus (any split) or from one uploaded session
zip, checked like the corpus and kept in a private temporary folder. Each modality uses
the run and checkpoint chosen here (the best run and its best checkpoint by default); the
learned fusion always uses the source runs it was trained with (it is not shown when one
of them was retrained or resumed since), and is not shown for a participant missing one
of its inputs. Every score of a participant a run was trained on
says it is in-sample. The explanations of the Explain page follow, each computed only
when its section is opened (after the scores are on the screen).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from core import scoring
from core.data import DataError
from core.data.overview import NO_SPLIT, UNKNOWN
from core.data.upload import MAX_UPLOAD_BYTES, UploadedSession, open_upload
from core.errors import UserError
from core.explain import predict
from core.explain.highlight import transcript_highlights
from core.kinds import KINDS
from core.kinds.fusion_run import check_sources
from core.runs import folder
from core.runs.folder import read_config
from core.runs.status import list_runs
from ui.common import (
    new_upload_folder,
    no_corpus_text,
    page_corpus,
    page_data_root,
    runs_root,
    text_alert,
)
from ui.explain_cache import (
    checkpoint_stamp,
    corpus_for,
    explained_kinds,
    fusion_run,
    fusion_score,
    neural_explanation,
    neural_score,
    reads_windows,
    text_model,
    text_score,
    text_terms,
)
from ui.predict_views import (
    fusion_notes,
    has_files,
    in_sample_warnings,
    label_of,
    missing_modality,
    own_kinds,
    scores_row,
)
from ui.run_choice import ordinary_first

UPLOAD_STATE = "predict_upload"
FROM_CORPUS, FROM_UPLOAD = "A participant of the corpus", "An uploaded session (zip)"


def forget_upload() -> None:
    """Drop the current upload and its private folder."""
    previous = st.session_state.pop(UPLOAD_STATE, None)
    if previous is not None:
        previous["folder"].remove()


def upload_ui() -> UploadedSession | None:
    """Read, check and keep one uploaded session; a bad upload changes nothing."""
    file = st.file_uploader(
        "Session zip in the DAIC-WOZ layout (the files of one NNN_P folder)",
        type=["zip"],
        key="predict_file",
        help=f"At most {MAX_UPLOAD_BYTES // 1024**2} MB: leave out NNN_AUDIO.wav and the "
        "HOG file, which no model reads. The upload stays in a private temporary folder.",
    )
    current = st.session_state.get(UPLOAD_STATE)
    if file is not None and (current is None or current["file_id"] != file.file_id):
        folder = new_upload_folder()  # removed when this browser session ends
        try:
            session = open_upload(file.getvalue(), file.name, folder.path)
        except DataError as error:
            folder.remove()
            text_alert(st.error, "Upload refused, nothing was changed.", str(error))
            if current is not None:
                earlier = current["session"].filename
                text_alert(st.caption, "Still showing the earlier upload:", earlier)
        else:
            forget_upload()
            current = {"file_id": file.file_id, "workdir": str(folder.path), "folder": folder}
            current["session"] = session
            st.session_state[UPLOAD_STATE] = current
    if current is None:
        return None
    session = current["session"]
    modalities = ", ".join(session.modalities)
    text_alert(
        st.success,
        f"Uploaded participant {session.pid}, modalities {modalities}:",
        session.filename,
    )
    for modality, why in session.missing.items():
        text_alert(st.warning, f"No {modality} score:", why)
    for problem in session.problems:
        if not any(problem in why for why in session.missing.values()):
            text_alert(st.caption, "Note:", problem)
    return session


def explain_views():
    """The explanation panels, imported when one is first opened (Captum loads in seconds)."""
    import ui.explain_views

    return ui.explain_views


def run_choices_ui(data_root: str | None) -> dict[str, tuple[str, str] | None]:
    """One run and checkpoint per modality, plus the fusion run.

    Each offers the best ordinary (or promoted) run first, experiments' search runs after.
    """
    choices: dict[str, tuple[str, str] | None] = {}
    columns = st.columns(len(KINDS))
    every_run = list_runs(runs_root())
    for column, modality in zip(columns, tuple(KINDS), strict=True):
        with column:
            runs = ordinary_first(
                scoring.explainable_runs(runs_root(), modality, data_root, every_run)
            )
            names = {str(r.path): folder.run_name(r.path) for r in runs}
            options = [*names, ""]
            run_dir = st.selectbox(
                f"{modality.capitalize()} run",
                options,
                format_func=lambda p, names=names: names.get(p, "none"),
                key=f"predict_{modality}_run",
            )
            which = "best"
            if run_dir and reads_windows(modality):
                which = st.radio(
                    "Checkpoint",
                    predict.CHECKPOINTS,
                    horizontal=True,
                    key=f"predict_{modality}_which",
                )
            choices[modality] = (run_dir, which) if run_dir else None
    return choices


def score_modality(modality: str, choice, root: str, uploaded: bool, pid: int) -> dict:
    """Probability of one modality (forward passes only), or why there is none."""
    run_dir, which = choice
    stamp = checkpoint_stamp(run_dir, which)
    result = {"probability": np.nan, "run_dir": run_dir, "which": which, "stamp": stamp}
    try:
        if reads_windows(modality):
            score = neural_score(run_dir, which, stamp, root, uploaded, pid)
        else:
            score = text_score(run_dir, stamp, root, uploaded, pid)
    except (UserError, OSError) as error:
        return {**result, "error": str(error)}
    return {**result, "probability": score.probability}


def text_panel(result: dict, root: str, uploaded: bool, pid: int) -> None:
    """The participant's transcript with the text run's top n-grams highlighted."""
    run_dir, stamp = result["run_dir"], result["stamp"]
    try:
        pipeline = text_model(run_dir, stamp)
        terms = text_terms(run_dir, stamp, 30)
        speakers = read_config(Path(run_dir))["text"]["speakers"]
        transcript = corpus_for(root, uploaded).transcript(pid)
        lines = transcript_highlights(transcript, pipeline, terms["term"], speakers)
    except (UserError, OSError) as error:
        text_alert(st.error, "No text explanation:", str(error))
        return
    present = [t for t in terms["term"] if any(s[2] == t for line in lines for s in line["spans"])]
    st.caption(
        f"Of the run's 30 most important n-grams, {len(present)} occur here: "
        + (", ".join(present) if present else "none")
    )
    direction = dict(zip(terms["term"], terms["points_to"], strict=True))
    st.html(explain_views().highlighted_transcript(lines, direction))


def neural_panel(modality: str, result: dict, root: str, uploaded: bool, pid: int) -> None:
    """Attention and Integrated Gradients of the participant under the modality's run."""
    run_dir, which, stamp = result["run_dir"], result["which"], result["stamp"]
    try:
        with st.spinner("Computing attention and Integrated Gradients"):
            explanation, means = neural_explanation(run_dir, which, stamp, root, uploaded, pid)
    except (UserError, OSError) as error:
        text_alert(st.error, f"No {modality} explanation:", str(error))
        return
    explain_views().neural_explanation_panel(explanation, means, f"predict_{modality}")


st.title("Predict")
st.warning(predict.NOTICE)
corpus = page_corpus()
source = st.radio("Who", [FROM_CORPUS, FROM_UPLOAD], horizontal=True, key="predict_source")
upload = None
if source == FROM_UPLOAD:
    upload = upload_ui()
    if upload is None:
        st.info("Upload one session's zip to score it.")
        st.stop()
    pid, root, uploaded = upload.pid, str(upload.corpus.root), True
    has = upload.modalities
    label = label_of(corpus, pid)
    if label != UNKNOWN:
        label += ", from the active corpus's split files for this ID"
else:
    if corpus is None:
        st.info(no_corpus_text("or upload a session"))
        st.stop()
    ids = [p for p, part in corpus.participants.items() if part.source is not None]
    pid = st.selectbox(
        "Participant",
        ids,
        format_func=lambda p: f"{p} · {corpus.participants[p].split or NO_SPLIT}",
        key="predict_pid",
    )
    root, uploaded, label = str(corpus.root), False, label_of(corpus, pid)
    has = corpus.participants[pid].modalities

choices = run_choices_ui(page_data_root())
if not any(choices.values()):
    st.info("No trained run yet: train the models on the Train page first.")
    st.stop()
with st.spinner(f"Scoring participant {pid}"):
    results = {
        m: score_modality(m, choices[m], root, uploaded, pid)
        if has_files(m, has)
        else missing_modality(m, pid, upload)
        for m in own_kinds()
        if choices[m]
    }
    fusion, fusion_dir = None, choices["fusion"][0] if choices["fusion"] else None
    if fusion_dir:
        try:
            unusable = tuple(upload.missing.items()) if upload is not None else ()
            stamp = checkpoint_stamp(fusion_dir, "best")
            # Checked on every rerun, before a cached score: a source may have changed since.
            check_sources(fusion_run(fusion_dir, stamp).config, Path(fusion_dir))
            fusion = fusion_score(fusion_dir, stamp, root, uploaded, pid, unusable)
        except (UserError, OSError) as error:
            cannot = f"Fusion run {Path(fusion_dir).name} cannot score this participant:"
            text_alert(st.error, cannot, str(error))
late = scoring.late_fusion_score({m: r["probability"] for m, r in results.items()})
st.subheader(f"Participant {pid}")
scores_row(results, fusion, fusion_dir, late, label)
if fusion is not None:
    fusion_notes(fusion, pid)
for modality, result in results.items():
    if "error" in result:
        text_alert(st.error, f"{modality.capitalize()}:", result["error"])
in_sample_warnings(results, fusion, fusion_dir, pid)
# Each explanation is computed only while its section is open, after the scores are shown.
explained = [m for m in explained_kinds() if m in results and "error" not in results[m]]
for modality in explained:
    result = results[modality]
    with st.expander(f"Why: {modality}", key=f"predict_why_{modality}", on_change="rerun") as why:
        if not why.open:
            continue
        if reads_windows(modality):
            neural_panel(modality, result, root, uploaded, pid)
        else:
            text_panel(result, root, uploaded, pid)
