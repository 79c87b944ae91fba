"""The Explain page through AppTest, with real runs trained on the planted corpus."""

from __future__ import annotations

from core.data.synth import NEGATIVE_WORDS, POSITIVE_WORDS
from core.explain.neural import ATTENTION_CAVEAT
from tests.screens.apptest import chart_titles, open_page


def test_without_runs_each_model_says_to_train_one(planted_corpus, runs_root):
    at = open_page("explain", planted_corpus)
    assert any("No face run" in i.value for i in at.info)
    at.radio(key="explain_modality").set_value("text").run()
    assert any("No text run" in i.value for i in at.info)


def test_face_run_shows_gate_attention_beside_attributions(planted_corpus, trained_root):
    at = open_page("explain", planted_corpus)
    run = at.selectbox(key="explain_face_run")
    assert {o.split(" ")[0] for o in run.options} == {"face", "face_aus", "landmarks"}
    at = open_page("explain", planted_corpus, explain_face_run=str(trained_root / "face"))
    titles = chart_titles(at)
    assert any(t.startswith("Spatial gate") for t in titles)
    assert any(t.startswith("Attention over time") for t in titles)
    assert any(t.startswith("Integrated Gradients") for t in titles)
    assert any(w.value == ATTENTION_CAVEAT for w in at.warning)
    caption = " ".join(c.value for c in at.caption)
    assert "baseline: the training participants' mean frame" in caption
    assert "Convergence delta" in caption
    # A depressed test participant, with the best checkpoint and then the latest one.
    at.radio(key="explain_face_which").set_value("latest").run()
    assert not at.exception


def test_landmark_run_draws_the_face(planted_corpus, trained_root):
    at = open_page("explain", planted_corpus, explain_face_run=str(trained_root / "landmarks"))
    assert any(t.startswith("Landmarks on the average") for t in chart_titles(at))


def test_audio_run_has_attention_and_no_spatial_gate(planted_corpus, trained_root):
    at = open_page("explain", planted_corpus, explain_modality="audio")
    titles = chart_titles(at)
    assert not any(t.startswith("Spatial gate") for t in titles)
    assert any(t.startswith("Attention over time") for t in titles)
    assert "Top 20 features: mean contribution to a window's log-odds" in " ".join(titles)


def test_text_run_shows_terms_permutation_and_highlighted_transcript(planted_corpus, trained_root):
    at = open_page("explain", planted_corpus, explain_modality="text")
    (terms,) = [d.value for d in at.dataframe if "term" in d.value.columns]
    planted = set(NEGATIVE_WORDS) | set(POSITIVE_WORDS)
    assert planted & set(terms["term"].head(10))
    assert {"doc_freq", "points_to"} <= set(terms.columns)
    at.button(key="explain_text_permute").click().run()
    assert not at.exception, at.exception
    assert any(t.startswith("Permutation importance") for t in chart_titles(at))
    assert any("Dev ROC AUC" in c.value for c in at.caption)
    (transcript,) = [h.proto.body for h in at.get("html") if "<mark" in h.proto.body]
    assert "more frequent when depressed" in transcript


def test_an_unreadable_transcript_is_named_in_plain_text(planted_corpus, trained_root, monkeypatch):
    from core.data.corpus import Corpus
    from core.data.errors import DataError

    pid = Corpus(planted_corpus).ids(None, "text")[0]
    original = Corpus.transcript

    def broken(self, participant):
        if participant == pid:
            raise DataError(f"{pid}_P/{pid}_TRANSCRIPT.csv", "row 3: stop_time 'abc' is no number")
        return original(self, participant)

    monkeypatch.setattr(Corpus, "transcript", broken)
    at = open_page("explain", planted_corpus, explain_modality="text", explain_text_pid=pid)
    assert [e.value for e in at.error] == [f"Cannot read participant {pid}'s transcript:"]
    texts = [t.value for t in at.text]
    assert f"{pid}_P/{pid}_TRANSCRIPT.csv: row 3: stop_time 'abc' is no number" in texts
