"""Attention, Integrated Gradients and timelines of real runs trained on the planted corpus."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from captum.attr import IntegratedGradients

from core.data import Corpus
from core.explain.attribution import frozen_parameters, integrated_gradients, log_odds
from core.explain.neural import explain_session, landmark_attribution
from core.kinds.neural_run import load_neural_run
from core.kinds.session import session_windows, to_timeline
from core.models import AudioRNN, FaceSTRNN, NeuralClassifier


def _depressed_ranking(run_dir, corpus: Corpus) -> list[str]:
    """Features by mean contribution towards "depressed" over every depressed participant."""
    model, config, normaliser = load_neural_run(run_dir)
    modality = config["modality"]
    tables = []
    for pid in corpus.ids(None, modality, labelled=True):
        if corpus.labels([pid])[0] != 1:
            continue
        explanation = explain_session(model, session_windows(corpus, pid, config, normaliser))
        if len(explanation.windows):
            tables.append(explanation.feature_table().set_index("feature")["contribution"])
    mean = pd.concat(tables, axis=1).mean(axis=1)
    return list(mean.sort_values(ascending=False).index)


def test_audio_attributions_recover_the_planted_acoustic_features(trained_runs, planted_corpus):
    ranking = _depressed_ranking(trained_runs["audio"], Corpus(planted_corpus))
    # Planted: lower energy (MCEP_0), fewer voiced frames (VUV), a higher glottal Rd,
    # flatter lower pitch (F0); 70 other COVAREP columns carry no class signal.
    assert len(ranking) == 74
    assert {"MCEP_0", "VUV", "Rd"} <= set(ranking[:5]), ranking[:10]
    assert "F0" in ranking[:10], ranking[:10]


def test_face_attributions_recover_the_planted_pose_and_action_units(trained_runs, planted_corpus):
    corpus = Corpus(planted_corpus)
    ranking = _depressed_ranking(trained_runs["face"], corpus)
    # Planted: head pitched down (Rx) and gaze pointing down (gaze y).
    assert "Rx" in ranking[:3], ranking[:10]
    assert {"y_0", "y_1"} & set(ranking[:10]), ranking[:10]
    aus_only = _depressed_ranking(trained_runs["face_aus"], corpus)
    # Planted: brow lowering (AU04) and lip-corner depressing (AU15) up when depressed, and
    # fewer smiles (AU12, AU06). Intensities are written as 0 below 0.5, as OpenFace does,
    # so a smile's absence is evidence for "depressed" as well.
    assert len(aus_only) == 20
    assert "AU04_r" in aus_only[:3], aus_only[:10]
    assert {"AU15_r", "AU15_c"} & set(aus_only[:3]), aus_only[:10]
    planted = {"AU04_r", "AU04_c", "AU15_r", "AU15_c", "AU12_r", "AU12_c", "AU06_r"}
    assert set(aus_only[:4]) <= planted, aus_only[:10]


@pytest.fixture(scope="module")
def audio_session(trained_runs, planted_corpus):
    corpus = Corpus(planted_corpus)
    model, config, normaliser = load_neural_run(trained_runs["audio"])
    pid = corpus.ids("dev", "audio", labelled=True)[0]
    return model, session_windows(corpus, pid, config, normaliser)


def test_integrated_gradients_are_complete(audio_session):
    model, windows = audio_session
    attribution = integrated_gradients(model, windows.x)
    x = torch.as_tensor(windows.x)
    with torch.no_grad():  # the output change, computed here rather than taken from Captum
        change = (log_odds(model, x) - log_odds(model, torch.zeros_like(x))).numpy()
    sums = attribution.values.sum(axis=(1, 2))  # (W,)
    allowed = np.maximum(0.05 * np.abs(change), 0.02)
    ok = np.abs(sums - change) <= allowed
    assert ok[attribution.converged].all()
    assert attribution.converged.mean() >= 0.9
    np.testing.assert_allclose(sums - change, attribution.delta, atol=1e-3)
    assert model.training is False
    assert all(p.requires_grad for p in model.parameters())  # restored after the pass


def test_pieces_are_halved_only_where_the_path_is_hard(audio_session):
    model, windows = audio_session
    attribution = integrated_gradients(model, windows.x)
    # Every window starts with 4 pieces of 2 steps; only some need more.
    assert attribution.n_gradients.min() == 8
    assert (attribution.n_gradients > 8).any()
    # The result is Integrated Gradients over the whole path: close to Captum's plain
    # Gauss-Legendre rule with many steps, at a fraction of the gradients.
    ig = IntegratedGradients(lambda batch: log_odds(model, batch))
    x = torch.as_tensor(windows.x)
    with frozen_parameters(model):
        reference = ig.attribute(x, baselines=torch.zeros_like(x), n_steps=512).detach().numpy()
    scale = np.abs(reference).max()
    assert np.abs(attribution.values - reference).max() <= 0.05 * scale
    assert attribution.n_gradients.mean() < 512 / 10


class LinearClassifier(NeuralClassifier):
    """A linear model over the flattened window: its Integrated Gradients are exact."""

    def __init__(self, n_inputs: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(n_inputs, 2)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)  # (B, T * F)

    def logits_from_embedding(self, embedding: torch.Tensor) -> torch.Tensor:
        return self.linear(embedding)  # (B, 2)


def test_a_linear_model_needs_no_refinement():
    torch.manual_seed(0)
    model = LinearClassifier(12 * 3)
    x = np.random.default_rng(1).normal(size=(7, 12, 3)).astype(np.float32)
    attribution = integrated_gradients(model, x)
    assert (attribution.n_gradients == 8).all()
    np.testing.assert_allclose(attribution.delta, 0.0, atol=1e-5)
    weights = (model.linear.weight[1] - model.linear.weight[0]).detach().numpy().reshape(12, 3)
    np.testing.assert_allclose(attribution.values, x * weights, atol=1e-5)  # x_i * dF/dx_i


def test_explanation_of_a_face_session_has_gate_attention_and_attributions(
    trained_runs, planted_corpus
):
    corpus = Corpus(planted_corpus)
    model, config, normaliser = load_neural_run(trained_runs["face"])
    pid = corpus.ids("test", "face", labelled=True)[0]
    windows = session_windows(corpus, pid, config, normaliser)
    explanation = explain_session(model, windows)
    w, t, f = windows.x.shape
    assert explanation.spatial.shape == explanation.attention.shape == (w, t)
    assert ((explanation.spatial > 0) & (explanation.spatial < 1)).all()
    np.testing.assert_allclose(explanation.attention.sum(axis=1), 1.0, rtol=1e-5)
    assert explanation.attribution.values.shape == (w, t, f)
    assert 0 <= explanation.probability <= 1
    # The participant turns come from the transcript and cover every window step.
    assert len(windows.turns)
    steps = windows.times[np.isfinite(windows.times)]
    inside = (steps[:, None] >= windows.turns[:, 0]) & (steps[:, None] <= windows.turns[:, 1])
    assert inside.any(axis=1).all()
    table = explanation.feature_table()
    assert table["magnitude"].is_monotonic_decreasing
    assert table["share"].sum() == pytest.approx(1.0)


def test_timeline_places_overlapping_windows_on_session_time():
    times = np.array([[0.05, 0.15, 0.25, 0.35], [0.25, 0.35, 0.45, np.nan]], np.float32)
    values = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 99.0]])
    centres, by_window, mean = to_timeline(values, times, rate_hz=10.0)
    np.testing.assert_allclose(centres, [0.05, 0.15, 0.25, 0.35, 0.45])
    np.testing.assert_allclose(mean, [1.0, 2.0, 4.0, 5.0, 7.0])  # padding (99) ignored
    assert np.isnan(by_window[0, 4]) and np.isnan(by_window[1, 0])
    per_feature = np.stack([values, -values], axis=-1)  # (W, T, 2)
    _, rows, mean2 = to_timeline(per_feature, times, rate_hz=10.0, max_columns=3)
    assert rows is None and mean2.shape == (3, 2)
    np.testing.assert_allclose(mean2[:, 0], [1.5, 4.5, 7.0])  # two bins per column


def test_landmark_face_is_coloured_by_attribution(trained_runs, planted_corpus):
    corpus = Corpus(planted_corpus)
    model, config, normaliser = load_neural_run(trained_runs["landmarks"])
    pid = corpus.ids("dev", "face", labelled=True)[0]
    explanation = explain_session(model, session_windows(corpus, pid, config, normaliser))
    mean_shape = dict(zip(normaliser.feature_names_in_, normaliser.mean_, strict=True))
    points = landmark_attribution(explanation.feature_table(), mean_shape)
    assert list(points["point"]) == list(range(68))
    table = explanation.feature_table().set_index("feature")
    assert points.loc[36, "magnitude"] == pytest.approx(
        table.loc["x36", "magnitude"] + table.loc["y36", "magnitude"]
    )
    # Eyes sit above the mouth on the average face (image y points down).
    assert points.loc[36:47, "y"].mean() < points.loc[48:67, "y"].mean()
    no_landmarks = explain_session(*_loaded(trained_runs["face_aus"], corpus, pid))
    assert landmark_attribution(no_landmarks.feature_table(), mean_shape) is None


def _loaded(run_dir, corpus, pid):
    model, config, normaliser = load_neural_run(run_dir)
    return model, session_windows(corpus, pid, config, normaliser)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("model_class", [AudioRNN, FaceSTRNN])
def test_attribution_on_cuda_matches_cpu_in_eval_mode(model_class):
    torch.manual_seed(0)
    if model_class is AudioRNN:
        model = AudioRNN(6, 8, 2, 0.5)
    else:
        model = FaceSTRNN(6, 8, 2, 2, 0.5)
    x = np.random.default_rng(0).normal(size=(5, 12, 6)).astype(np.float32)
    cpu = integrated_gradients(model.eval(), x)
    gpu = integrated_gradients(model.cuda().eval(), x)
    assert not model.training
    np.testing.assert_allclose(gpu.values, cpu.values, atol=1e-4)
