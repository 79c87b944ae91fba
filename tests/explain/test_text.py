"""Text-model explanations on a synthetic corpus with planted low-mood and positive words."""

import re
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import roc_auc_score

from core.data import Corpus
from core.data.synth import NEGATIVE_WORDS, POSITIVE_WORDS, write_corpus
from core.data.text import participant_document
from core.explain.highlight import highlight_spans, transcript_highlights
from core.explain.text import permutation_importances, term_importances
from core.kinds.text_run import participant_documents
from core.models.text import fit_text_pipeline, make_text_pipeline

PLANTED = {word: "depressed" for word in NEGATIVE_WORDS} | {
    word: "not depressed" for word in POSITIVE_WORDS
}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """The app's default text pipeline fitted on the train split of a 100-person corpus.

    The 24-person session corpus leaves 14 training and 4 dev documents, too few for the
    planted words to stand out reliably; 100 people give 57 training documents and 43
    held-out ones (dev and test, 14 depressed).
    """
    root = tmp_path_factory.mktemp("explain_text") / "daic"
    write_corpus(root, participants=100, minutes=0.5, seed=1, transcripts_only=True)
    corpus = Corpus(root)
    _, train_docs, train_y, _ = participant_documents(corpus, "train", "participant")
    _, dev_docs, dev_y, _ = participant_documents(corpus, "dev", "participant")
    _, test_docs, test_y, _ = participant_documents(corpus, "test", "participant")
    pipeline = fit_text_pipeline(make_text_pipeline(seed=0), train_docs, train_y)
    return SimpleNamespace(
        corpus=corpus,
        pipeline=pipeline,
        tfidf=pipeline.named_steps["tfidf"],
        docs=train_docs,
        y=train_y,
        dev_docs=dev_docs,
        dev_y=dev_y,
        held_docs=dev_docs + test_docs,
        held_y=np.concatenate([dev_y, test_y]),
    )


# --- term_importances ------------------------------------------------------------------


def test_planted_words_lead_the_importances_and_point_their_way(fitted):
    table = term_importances(fitted.pipeline, fitted.docs, fitted.y, top_k=10)
    assert list(table.columns) == [
        "term",
        "importance",
        "doc_freq",
        "doc_share",
        "mean_tfidf_depressed",
        "mean_tfidf_not",
        "points_to",
    ]
    assert len(table) == 10
    assert table["importance"].is_monotonic_decreasing
    top = dict(zip(table["term"], table["points_to"], strict=True))
    planted = {term: way for term, way in top.items() if term in PLANTED}
    # With seed 1 the top 10 holds 6 planted words from both lists. Across corpus seeds
    # 0-9 the count ranged 2-6, but a planted word in the top 10 always pointed its way.
    assert len(planted) >= 4, top
    assert set(planted) & set(NEGATIVE_WORDS) and set(planted) & set(POSITIVE_WORDS), top
    assert planted == {term: PLANTED[term] for term in planted}, top


def test_columns_agree_with_a_hand_count(fitted):
    vocabulary_size = len(fitted.tfidf.vocabulary_)
    table = term_importances(fitted.pipeline, fitted.docs, fitted.y, top_k=10_000)
    assert len(table) == vocabulary_size
    assert table["importance"].sum() == pytest.approx(1.0)
    row = table.set_index("term").loc["sad"]
    hand = sum("sad" in re.findall(r"\b\w\w+\b", doc.lower()) for doc in fitted.docs)
    assert 0 < hand < len(fitted.docs)
    assert row["doc_freq"] == hand
    assert row["doc_share"] == pytest.approx(hand / len(fitted.docs))
    # points_to follows the class means, whichever way they fall.
    depressed_larger = table["mean_tfidf_depressed"] > table["mean_tfidf_not"]
    assert (table["points_to"] == np.where(depressed_larger, "depressed", "not depressed")).all()
    assert (table["mean_tfidf_depressed"] >= 0).all() and (table["mean_tfidf_not"] >= 0).all()


def test_term_importances_refuses_bad_labels(fitted):
    with pytest.raises(ValueError, match="both classes"):
        term_importances(fitted.pipeline, fitted.docs, np.zeros(len(fitted.docs), int))
    with pytest.raises(ValueError, match="one PHQ8 binary label"):
        term_importances(fitted.pipeline, fitted.docs, fitted.y[:-1])
    with pytest.raises(ValueError, match="0 .* or 1"):
        term_importances(fitted.pipeline, fitted.docs, fitted.y * 2)
    with pytest.raises(ValueError, match="'tfidf' and 'clf'"):
        term_importances(fitted.tfidf, fitted.docs, fitted.y)


# --- permutation_importances -----------------------------------------------------------


def test_permutation_importance_on_held_out_participants(fitted):
    planted = [word for word in PLANTED if word in fitted.tfidf.vocabulary_]
    table = permutation_importances(
        fitted.pipeline, fitted.held_docs, fitted.held_y, planted, n_repeats=10, seed=0
    )

    assert list(table.columns) == ["term", "importance_mean", "importance_std", "baseline_auc"]
    assert table["term"].tolist() == planted
    # The unshuffled matrix rebuilt from the chosen columns gives the pipeline's own AUC.
    probs = fitted.pipeline.predict_proba(fitted.held_docs)[:, 1]
    assert (table["baseline_auc"] == roc_auc_score(fitted.held_y, probs)).all()
    assert (table["importance_std"] >= 0).all()
    # One shuffled word barely moves a 100-tree forest, so only the average is stable: it
    # was positive for every corpus seed 0-9 (and above that of the other unigrams).
    assert table["importance_mean"].mean() > 0


def test_a_term_no_dev_participant_says_has_importance_zero(fitted):
    dev = fitted.tfidf.transform(fitted.dev_docs).tocsc()  # sparse (n_docs, V)
    absent = [term for term, j in fitted.tfidf.vocabulary_.items() if dev[:, j].nnz == 0]
    assert absent, "the fixture should have a training term no dev participant says"
    table = permutation_importances(
        fitted.pipeline, fitted.dev_docs, fitted.dev_y, [absent[0], "sad"], n_repeats=5
    ).set_index("term")
    assert table.loc[absent[0], "importance_mean"] == 0.0
    assert table.loc[absent[0], "importance_std"] == 0.0
    assert table.loc["sad", "importance_std"] > 0  # a word that occurs does get shuffled


def test_permutation_importance_refuses_bad_input(fitted):
    args = (fitted.pipeline, fitted.held_docs)
    with pytest.raises(ValueError, match=r"notaword.*'qqq zzz'|'qqq zzz'.*notaword"):
        permutation_importances(*args, fitted.held_y, ["sad", "notaword", "qqq zzz"])
    with pytest.raises(ValueError, match="both classes"):
        permutation_importances(*args, np.ones(len(fitted.held_docs), int), ["sad"])
    with pytest.raises(ValueError, match="one PHQ8 binary label"):
        permutation_importances(*args, fitted.held_y[1:], ["sad"])
    with pytest.raises(ValueError, match="at least one term"):
        permutation_importances(*args, fitted.held_y, [])


# --- highlights ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vectorizer():
    return TfidfVectorizer(ngram_range=(1, 2), stop_words="english").fit(["feel tired"])


def _matched(text, spans):
    return [(text[start:end], term) for start, end, term in spans]


def test_stop_words_are_dropped_before_bigrams_like_sklearn(vectorizer):
    text = "I Feel so TIRED."
    # scikit-learn itself forms the bigram across the stop word "so" ...
    assert "feel tired" in vectorizer.build_analyzer()(text)
    # ... so the highlight runs from "Feel" to "TIRED", across "so".
    spans = highlight_spans(text, ["feel tired", "tired"], vectorizer)
    assert _matched(text, spans) == [("Feel so TIRED", "feel tired"), ("TIRED", "tired")]
    assert spans[0][:2] == (2, 15)


def test_whole_tokens_only_and_any_case(vectorizer):
    text = "Saddle SAD, retired; sad-ish. so sad"
    spans = highlight_spans(text, ["sad", "tired"], vectorizer)
    assert _matched(text, spans) == [("SAD", "sad"), ("sad", "sad"), ("sad", "sad")]
    assert highlight_spans(text, ["so sad"], vectorizer) == []  # "so" is a stop word
    assert highlight_spans("", ["sad"], vectorizer) == []


def test_spans_count_what_the_vectorizer_counts(fitted):
    # Every vocabulary n-gram is highlighted exactly as often as the analyzer emits it.
    analyzer = fitted.tfidf.build_analyzer()
    terms = list(fitted.tfidf.vocabulary_)
    for doc in fitted.held_docs[:5]:
        counted = Counter(t for t in analyzer(doc) if t in fitted.tfidf.vocabulary_)
        spans = highlight_spans(doc, terms, fitted.pipeline)
        assert Counter(term for _, _, term in spans) == counted
        for start, end, term in spans:
            tokens = re.findall(r"\b\w\w+\b", doc[start:end])
            assert (tokens[0], tokens[-1]) == (term.split()[0], term.split()[-1])


def test_transcript_highlights_follow_the_document(fitted, vectorizer):
    transcript = pd.DataFrame(
        {
            "start_time": [0.5, 2.0, 4.5, 6.0],
            "stop_time": [1.5, 4.0, 5.5, 8.0],
            "speaker": ["Ellie", "Participant", "Participant", "Participant"],
            "value": [
                "how_doing (are you tired)",
                "<sync> I FEEL [laughter] so   tired xxx",
                "<laughter>",
                "retired now",
            ],
        }
    )
    lines = transcript_highlights(transcript, vectorizer, ["feel tired", "tired"])
    assert lines == [
        {
            "start_time": 2.0,
            "speaker": "Participant",
            "text": "i feel so tired",
            "spans": [(2, 15, "feel tired"), (10, 15, "tired")],
        },
        {"start_time": 6.0, "speaker": "Participant", "text": "retired now", "spans": []},
    ]
    both = transcript_highlights(transcript, vectorizer, ["tired"], speakers="both")
    assert [line["speaker"] for line in both] == ["Ellie", "Participant", "Participant"]
    assert both[0]["spans"] == [
        (len("how_doing (are you "), len("how_doing (are you tired"), "tired")
    ]
    with pytest.raises(ValueError, match="speakers"):
        transcript_highlights(transcript, vectorizer, ["tired"], speakers="everyone")

    # On a real transcript the kept, cleaned lines are the participant's document.
    pid = fitted.corpus.ids("dev", "text", labelled=True)[0]
    session = fitted.corpus.transcript(pid)
    for speakers in ("participant", "both"):
        lines = transcript_highlights(session, fitted.pipeline, ["sad"], speakers=speakers)
        joined = " ".join(line["text"] for line in lines)
        assert joined == participant_document(session, speakers)


def test_offsets_survive_accent_stripping():
    accents = TfidfVectorizer(stop_words="english", strip_accents="unicode").fit(["cafe"])
    text = "Cafe\u0301 so TIRED"  # a decomposed é: stripping shortens the text
    spans = highlight_spans(text, ["cafe", "tired"], accents)
    assert _matched(text, spans) == [("Cafe\u0301", "cafe"), ("TIRED", "tired")]
