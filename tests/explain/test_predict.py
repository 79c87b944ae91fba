"""Scoring one participant: the same numbers as the split-wide evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from core import scoring
from core.data import Corpus
from core.evaluation.metrics import aggregate_windows
from core.explain import predict
from core.kinds import get_kind
from core.kinds.fusion_run import predict_fusion as _predict_fusion
from core.kinds.neural_run import load_neural_run, predict_windows, prepare_windows
from core.kinds.text_run import load_text_run, predict_text


def predict_fusion(run_dir, split):
    """The fusion run's split-wide scores, as the evaluation computes them."""
    return _predict_fusion(get_kind("fusion").load(run_dir), split)


def test_single_participant_scores_match_the_split_evaluation(trained_runs, planted_corpus):
    corpus = Corpus(planted_corpus)
    split = predict_fusion(trained_runs["fusion"], "dev")
    for row in (0, 3):
        pid = int(split["ids"][row])
        fusion = scoring.score_fusion(trained_runs["fusion"], corpus, pid)
        assert fusion.probability == pytest.approx(split["fusion"][row], abs=1e-5)
        assert all(fusion.available.values())
        text = scoring.score_text(trained_runs["text"], corpus, pid).probability
        assert text == pytest.approx(split["modalities"]["text"][row], abs=1e-9)
        explanation, _ = predict.explain_neural_run(trained_runs["audio"], corpus, pid)
        assert explanation.probability == pytest.approx(split["modalities"]["audio"][row], abs=1e-5)


def test_neural_probability_is_the_mean_of_the_evaluated_windows(trained_runs, planted_corpus):
    model, config, normaliser = load_neural_run(trained_runs["face"])
    windows, _, _ = prepare_windows(config, ("test",), normaliser=normaliser)
    ids, probs, _ = aggregate_windows(
        windows["test"].participant_ids, predict_windows(model, windows["test"].x)
    )
    corpus = Corpus(planted_corpus)
    explanation, _ = predict.explain_neural_run(trained_runs["face"], corpus, int(ids[1]))
    assert explanation.probability == pytest.approx(probs[1], abs=1e-5)
    assert len(explanation.window_probs) == np.sum(windows["test"].participant_ids == ids[1])


def test_training_participant_gets_the_out_of_fold_text_input(trained_runs, planted_corpus):
    corpus = Corpus(planted_corpus)
    split = predict_fusion(trained_runs["fusion"], "train")  # built from out-of-fold text
    pid = int(split["ids"][2])
    fusion = scoring.score_fusion(trained_runs["fusion"], corpus, pid)
    assert any("out-of-fold" in note for note in fusion.notes)
    assert fusion.probability == pytest.approx(split["fusion"][2], abs=1e-5)
    _, in_sample, _ = predict_text(
        load_text_run(trained_runs["text"]), corpus, "train", "participant"
    )
    assert split["modalities"]["text"][2] != pytest.approx(in_sample[2])


def test_missing_modality_enters_the_fusion_as_absent(trained_runs, planted_corpus, tmp_path):
    from core.data.synth import write_corpus

    root = tmp_path / "one"
    write_corpus(root, participants=6, minutes=0.5, seed=5)
    pid = Corpus(root).ids("dev")[0]
    for path in (root / f"{pid}_P").glob("*CLNF*"):
        path.unlink()
    fusion = scoring.score_fusion(trained_runs["fusion"], Corpus(root), pid)
    assert fusion.available == {"audio": True, "face": False, "text": True}
    assert any(note.startswith("face input missing") for note in fusion.notes)
    assert 0.0 <= fusion.probability <= 1.0


def test_late_fusion_averages_what_is_available():
    assert scoring.late_fusion_score({"text": 0.2, "audio": 0.6, "face": None}) == pytest.approx(
        0.4
    )
    assert scoring.late_fusion_score({"text": float("nan"), "audio": 0.6}) == pytest.approx(0.6)
    assert np.isnan(scoring.late_fusion_score({"text": None}))
    assert np.isnan(scoring.late_fusion_score({}))


def test_explainable_runs_put_the_best_run_on_this_corpus_first(trained_runs, planted_corpus):
    runs = scoring.explainable_runs(trained_runs["face"].parent, "face", str(planted_corpus))
    names = [r.path.name for r in runs]
    assert sorted(names) == ["face", "face_aus", "landmarks"]
    losses = [r.best_val_loss for r in runs]
    assert losses == sorted(losses)
    assert scoring.explainable_runs(trained_runs["face"].parent, "fusion", None)[0].path.name == (
        "fusion"
    )


def test_training_ids_are_the_run_corpus_training_split(trained_runs, planted_corpus):
    ids = scoring.training_ids(trained_runs["audio"])
    assert ids == set(Corpus(planted_corpus).ids("train"))


def test_scores_are_forward_passes_that_the_explanation_agrees_with(trained_runs, planted_corpus):
    corpus = Corpus(planted_corpus)
    pid = corpus.ids("dev")[1]
    score = scoring.score_neural(*load_neural_run(trained_runs["face"]), corpus, pid)
    explanation, _ = predict.explain_neural_run(trained_runs["face"], corpus, pid)
    assert score.probability == pytest.approx(explanation.probability, abs=1e-6)
    np.testing.assert_array_equal(score.windows.x, explanation.windows.x)
    model, _, _ = load_neural_run(trained_runs["face"])
    embeddings = predict_windows(model, score.windows.x, embeddings=True)  # (W, D)
    np.testing.assert_allclose(score.embedding, embeddings.mean(axis=0), rtol=1e-6)


def test_fusion_reuses_the_scores_it_is_given(trained_runs, planted_corpus):
    corpus = Corpus(planted_corpus)
    pid = corpus.ids("dev")[2]
    asked = []

    def neural(source):
        asked.append(source.name)
        return scoring.score_neural(*load_neural_run(source), corpus, pid)

    given = scoring.score_fusion(trained_runs["fusion"], corpus, pid, neural=neural)
    assert sorted(asked) == ["audio", "face"]
    assert given == scoring.score_fusion(trained_runs["fusion"], corpus, pid)


def _damage_covarep_in_a_turn(root, pid):
    """Cut a cell from a COVAREP row inside the participant's first turn; return the row.

    (A text cell only masks its frame; a row with a cell missing makes the file unreadable.)
    """
    from core.data.formats import COVAREP_RATE_HZ
    from core.data.gate import session_turns

    start, stop = session_turns(Corpus(root), pid)[0]
    row = int((start + stop) / 2 * COVAREP_RATE_HZ) + 1
    path = root / f"{pid}_P" / f"{pid}_COVAREP.csv"
    lines = path.read_bytes().split(b"\n")
    lines[row - 1] = b",".join(lines[row - 1].split(b",")[:-1])
    path.write_bytes(b"\n".join(lines))
    return row


def test_damaged_file_makes_the_fusion_incomplete_and_says_where(trained_runs, tmp_path):
    from core.data.synth import write_corpus

    root = tmp_path / "one"
    write_corpus(root, participants=6, minutes=0.5, seed=5)
    pid = Corpus(root).ids("dev")[0]
    row = _damage_covarep_in_a_turn(root, pid)
    fusion = scoring.score_fusion(trained_runs["fusion"], Corpus(root), pid)
    assert not fusion.complete
    assert list(fusion.missing) == ["audio"]
    assert fusion.missing["audio"] == (
        f"{pid}_P/{pid}_COVAREP.csv: row {row} has 73 columns, expected 74"
    )


def test_inputs_known_unusable_are_left_out(trained_runs, planted_corpus):
    corpus = Corpus(planted_corpus)
    pid = corpus.ids("dev")[0]
    why = "mine.zip:300_COVAREP.csv: row 11 has 73 columns, expected 74"
    fusion = scoring.score_fusion(trained_runs["fusion"], corpus, pid, unusable={"audio": why})
    assert fusion.available == {"audio": False, "face": True, "text": True}
    assert fusion.missing == {"audio": why} and not fusion.complete
    assert scoring.score_fusion(trained_runs["fusion"], corpus, pid).complete


@pytest.mark.parametrize("run", ["audio", "face"])
def test_one_pass_gives_the_probabilities_and_embeddings_of_two(trained_runs, planted_corpus, run):
    model, config, normaliser = load_neural_run(trained_runs[run])
    pid = Corpus(planted_corpus).ids("dev")[0]
    x = scoring.score_neural(model, config, normaliser, Corpus(planted_corpus), pid).windows.x
    probs, embeddings = scoring.window_outputs(model, x, batch_size=7)
    np.testing.assert_allclose(probs, predict_windows(model, x), atol=1e-6)
    np.testing.assert_allclose(embeddings, predict_windows(model, x, embeddings=True), atol=1e-6)
