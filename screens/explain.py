"""Explain page: why a run decided what it did.

Face and audio: pick a run and a participant; the attention (and FaceSTRNN's spatial gate)
over the whole session beside Integrated Gradients attributions per feature and time, the
feature ranking, and the 68-point face when landmarks were used. Text: the Random Forest's
top n-grams with their document frequency and class direction, permutation importance on
held-out participants, and one participant's transcript with those n-grams highlighted.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import scoring
from core.data import Corpus, DataError
from core.data.overview import NO_SPLIT, label_name
from core.errors import UserError
from core.explain import predict
from core.explain.highlight import transcript_highlights
from core.explain.text import permutation_importances
from core.kinds import KINDS
from core.runs import folder
from core.runs.folder import read_config
from ui.common import MISSING, no_corpus_text, page_corpus, page_data_root, runs_root
from ui.explain_cache import (
    checkpoint_stamp,
    explained_kinds,
    neural_explanation,
    reads_windows,
    text_documents,
    text_model,
    text_score,
    text_terms,
)
from ui.explain_figures import permutation_bars, term_bars
from ui.explain_views import highlighted_transcript, neural_explanation_panel
from ui.run_choice import ordinary_first


def participant_label(corpus: Corpus, pid: int) -> str:
    """``"912 · dev · depressed"`` for a selectbox."""
    participant = corpus.participants[pid]
    label = label_name(participant.phq8_binary)
    return f"{pid} · {participant.split or NO_SPLIT} · {label}"


def run_ui(modality: str, corpus: Corpus, key: str) -> tuple[str, str] | None:
    """Pick a run of ``modality`` and its checkpoint; None (with a message) when none.

    The best ordinary (or promoted) run comes first; experiments' search runs follow.
    """
    runs = ordinary_first(scoring.explainable_runs(runs_root(), modality, page_data_root()))
    if not runs:
        st.info(f"No {modality} run with a saved model yet: train one on the Train page.")
        return None
    names = {str(r.path): f"{folder.run_name(r.path)} ({r.status})" for r in runs}
    left, right = st.columns([3, 1])
    run_dir = left.selectbox(
        f"{modality.capitalize()} run", list(names), format_func=names.get, key=f"{key}_run"
    )
    which = "best"
    if KINDS[modality].has_epochs:
        which = right.radio("Checkpoint", predict.CHECKPOINTS, horizontal=True, key=f"{key}_which")
    return run_dir, which


def participant_ui(corpus: Corpus, modality: str, key: str) -> int | None:
    """Pick a participant who has this modality, from any split."""
    ids = corpus.ids(None, modality)
    if not ids:
        st.info(f"No participant in this corpus has {modality} files.")
        return None
    return st.selectbox(
        "Participant", ids, format_func=lambda p: participant_label(corpus, p), key=f"{key}_pid"
    )


def neural_tab(corpus: Corpus, modality: str) -> None:
    key = f"explain_{modality}"
    chosen = run_ui(modality, corpus, key)
    if chosen is None:
        return
    pid = participant_ui(corpus, KINDS[modality].corpus_files, key)
    if pid is None:
        return
    run_dir, which = chosen
    try:
        with st.spinner("Computing attention and attributions"):
            explanation, means = neural_explanation(
                run_dir, which, checkpoint_stamp(run_dir, which), str(corpus.root), False, pid
            )
    except (UserError, OSError) as error:
        st.error(f"Cannot explain participant {pid}:")
        st.text(f"{Path(run_dir).name}: {error}")  # plain text: file names are not markdown
        return
    neural_explanation_panel(explanation, means, key)


def text_tab(corpus: Corpus, modality: str) -> None:
    key = f"explain_{modality}"
    chosen = run_ui(modality, corpus, key)
    if chosen is None:
        return
    run_dir = chosen[0]
    try:
        stamp = checkpoint_stamp(run_dir, "best")
        pipeline = text_model(run_dir, stamp)
        top_k = st.slider("n-grams", 5, 50, 20, key=f"{key}_top")
        terms = text_terms(run_dir, stamp, top_k)
    except (UserError, OSError) as error:
        st.error("Cannot read the text run:")
        st.text(f"{Path(run_dir).name}: {error}")
        return
    left, right = st.columns(2)
    with left:
        st.plotly_chart(term_bars(terms), key=f"{key}_terms_chart")
        st.dataframe(
            terms,
            hide_index=True,
            placeholder=MISSING,
            key=f"{key}_terms",
            column_config={
                "importance": st.column_config.NumberColumn(format="%.4f"),
                "doc_share": st.column_config.NumberColumn(format="percent"),
                "mean_tfidf_depressed": st.column_config.NumberColumn(format="%.4f"),
                "mean_tfidf_not": st.column_config.NumberColumn(format="%.4f"),
            },
        )
        st.caption(
            "Importance is the forest's mean decrease in impurity on the training "
            "documents; document frequency and class means are over the same documents."
        )
    with right:
        permutation_panel(run_dir, pipeline, list(terms["term"][:15]), key)
    st.subheader("One participant's transcript")
    pid = participant_ui(corpus, KINDS[modality].corpus_files, key)
    if pid is None:
        return
    speakers = read_config(Path(run_dir))["text"]["speakers"]
    try:
        lines = transcript_highlights(corpus.transcript(pid), pipeline, terms["term"], speakers)
    except DataError as error:
        st.error(f"Cannot read participant {pid}'s transcript:")
        st.text(str(error))
        return
    score = text_score(run_dir, stamp, str(corpus.root), False, pid).probability
    st.caption(f"Text model's depressed-probability for {pid}: {score:.2f}")
    direction = dict(zip(terms["term"], terms["points_to"], strict=True))
    st.html(highlighted_transcript(lines, direction))


def permutation_panel(run_dir: str, pipeline, terms: list[str], key: str) -> None:
    """Permutation importance of the top terms on the run's held-out (dev) participants."""
    state = f"{key}_permutation"
    if st.button("Permutation importance on dev participants", key=f"{key}_permute"):
        try:
            _, docs, labels = text_documents(run_dir, "dev")
            with st.spinner("Shuffling each n-gram across held-out participants"):
                st.session_state[state] = (
                    run_dir,
                    permutation_importances(pipeline, docs, labels, terms, n_repeats=10),
                )
        except UserError as error:
            st.error("Cannot compute permutation importance:")
            st.text(str(error))
    result = st.session_state.get(state)
    if result is None or result[0] != run_dir:
        st.caption(
            "Impurity importance is measured on the data the trees were grown on; "
            "permutation importance checks the top n-grams on participants the model "
            "never saw (10 shuffles each)."
        )
        return
    table = result[1]
    st.plotly_chart(permutation_bars(table), key=f"{key}_permutation_chart")
    st.caption(f"Dev ROC AUC without shuffling: {table['baseline_auc'].iloc[0]:.3f}")


st.title("Explain")
corpus = page_corpus()
if corpus is None:
    st.info(no_corpus_text("to explain models on its participants"))
    st.stop()
modality = st.radio(
    "Model",
    explained_kinds(),
    format_func=str.capitalize,
    horizontal=True,
    key="explain_modality",
)
if reads_windows(modality):
    neural_tab(corpus, modality)
else:
    text_tab(corpus, modality)
