import hashlib

import numpy as np
import pytest
import skops.io as sio
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from core.models.text import (
    fit_text_pipeline,
    load_text_model,
    make_text_pipeline,
    out_of_fold_proba,
    save_text_model,
)

SAD = ["tired", "exhausted", "hopeless", "sleep", "alone", "worthless"]
HAPPY = ["travel", "friends", "music", "garden", "football", "cooking"]


def synthetic_corpus(n=20, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.array([1, 0] * (n // 2))
    docs = []
    for label in labels:
        vocab = SAD if label else HAPPY
        words = list(rng.choice(vocab, size=4)) + list(rng.choice(SAD + HAPPY, size=3))
        docs.append(" ".join(words))
    return docs, labels


def small_pipeline(**overrides):
    kwargs = {"seed": 0, "n_estimators": 20, "min_df": 1, "max_df": 1.0}
    kwargs.update(overrides)
    return make_text_pipeline(**kwargs)


def test_pipeline_structure_and_nested_params():
    pipe = make_text_pipeline(seed=7)
    assert [name for name, _ in pipe.steps] == ["tfidf", "clf"]
    params = pipe.get_params()
    assert params["tfidf__min_df"] == 5
    assert params["tfidf__max_df"] == 0.75
    assert params["tfidf__ngram_range"] == (1, 2)
    assert params["tfidf__stop_words"] == "english"
    assert params["tfidf__sublinear_tf"] is True
    assert params["clf__n_estimators"] == 100
    assert params["clf__random_state"] == 7
    assert params["clf__max_depth"] is None
    assert params["clf__class_weight"] == "balanced"
    pipe.set_params(tfidf__min_df=2)
    assert pipe.named_steps["tfidf"].min_df == 2


def test_fits_on_tiny_corpus_and_predicts_probabilities():
    docs, labels = synthetic_corpus()
    pipe = fit_text_pipeline(small_pipeline(), docs, labels)
    proba = pipe.predict_proba(["tired hopeless alone", "music friends garden"])
    assert proba.shape == (2, 2)
    assert proba[0, 1] > proba[1, 1]


def test_empty_vocabulary_raises_a_clear_error_without_changing_settings():
    docs, labels = synthetic_corpus(n=4)
    pipe = make_text_pipeline(n_estimators=5)  # min_df=5 > 4 documents
    with pytest.raises(ValueError, match="vocabulary is empty.*min_df=5"):
        fit_text_pipeline(pipe, docs, labels)
    assert pipe.named_steps["tfidf"].min_df == 5


def test_out_of_fold_differs_from_in_sample():
    docs, labels = synthetic_corpus(n=20, seed=1)
    # A unique token per participant lets the forest memorise the training set.
    docs = [f"{doc} participant{i}x" for i, doc in enumerate(docs)]
    pipe = small_pipeline()
    oof = out_of_fold_proba(pipe, docs, labels, n_splits=5, seed=0)
    in_sample = fit_text_pipeline(small_pipeline(), docs, labels).predict_proba(docs)[:, 1]
    assert oof.shape == (20,)
    assert not hasattr(pipe.named_steps["clf"], "estimators_")  # template left unfitted
    assert np.abs(in_sample - labels).mean() < np.abs(oof - labels).mean()
    assert roc_auc_score(labels, in_sample) == 1.0
    np.testing.assert_array_equal(oof, out_of_fold_proba(pipe, docs, labels, seed=0))


def test_out_of_fold_never_uses_a_participants_own_document_or_label():
    # Each document is one token unique to its participant plus filler shared by everyone.
    # In-sample the unique token reveals the label; out of fold the held-out participant's
    # token was never seen, so every participant in a fold gets the same prediction.
    n, n_splits = 12, 3
    labels = np.array([1, 0] * (n // 2))
    docs = [f"filler words here uniq{i}token" for i in range(n)]
    pipe = small_pipeline()
    in_sample = fit_text_pipeline(small_pipeline(), docs, labels).predict_proba(docs)[:, 1]
    np.testing.assert_array_equal(in_sample > 0.5, labels == 1)
    oof = out_of_fold_proba(pipe, docs, labels, n_splits=n_splits, seed=0)
    assert len(np.unique(oof)) <= n_splits


def test_out_of_fold_reduces_splits_to_minority_count():
    docs, labels = synthetic_corpus(n=10)
    labels = np.array([1, 1] + [0] * 8)
    oof = out_of_fold_proba(small_pipeline(), docs, labels, n_splits=5)
    assert oof.shape == (10,)
    with pytest.raises(ValueError, match="at least two participants of each class"):
        out_of_fold_proba(small_pipeline(), docs, np.array([1] + [0] * 9))


def test_save_load_round_trip(tmp_path):
    docs, labels = synthetic_corpus()
    pipe = fit_text_pipeline(small_pipeline(), docs, labels)
    path = tmp_path / "text" / "model.skops"
    digest = save_text_model(pipe, path)
    assert len(digest) == 64
    assert [p.name for p in path.parent.iterdir()] == ["model.skops"]  # no temp files left
    loaded = load_text_model(path, digest)
    assert isinstance(loaded, Pipeline)
    np.testing.assert_array_equal(loaded.predict_proba(docs), pipe.predict_proba(docs))


def test_tampered_file_is_refused(tmp_path):
    docs, labels = synthetic_corpus()
    path = tmp_path / "model.skops"
    digest = save_text_model(fit_text_pipeline(small_pipeline(), docs, labels), path)
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="model.skops.*SHA-256"):
        load_text_model(path, digest)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.skops"):
        load_text_model(tmp_path / "missing.skops", "0" * 64)


def test_unexpected_types_are_refused_even_with_a_matching_hash(tmp_path):
    path = tmp_path / "other.skops"
    sio.dump({"model": make_text_pipeline(), "extra": Exotic()}, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="other.skops.*not allowed"):
        load_text_model(path, digest)


class Exotic:
    """A type no allow-list contains."""
