import json
import math

import numpy as np
import pytest

from core.evaluation.compare import align, delong, paired_bootstrap, plain_sentence
from core.evaluation.metrics import participant_metrics


def _delong_by_definition(y, p_a, p_b):
    """DeLong 1988 straight from its definition: every depressed vs every other pair."""
    y = np.asarray(y)
    out = []
    for p in (np.asarray(p_a), np.asarray(p_b)):
        x, z = p[y == 1], p[y == 0]
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])  # (m, k)
        out.append((psi.mean(), psi.mean(axis=1), psi.mean(axis=0)))
    (auc_a, v10_a, v01_a), (auc_b, v10_b, v01_b) = out
    m, k = v10_a.size, v01_a.size
    s10 = np.cov(np.vstack([v10_a, v10_b]))
    s01 = np.cov(np.vstack([v01_a, v01_b]))
    s = s10 / m + s01 / k
    return auc_a, auc_b, s[0, 0] + s[1, 1] - 2 * s[0, 1]


def test_delong_by_hand():
    # Depressed are the first two. A: depressed 0.9, 0.4; others 0.5, 0.1.
    #   pairs (depressed > other): 0.9>0.5, 0.9>0.1, 0.4>0.1, not 0.4>0.5 -> AUROC 3/4
    #   components per depressed [1, 1/2] (variance 1/8), per other [1/2, 1] (variance 1/8)
    #   var(AUROC_A) = 1/8 / 2 + 1/8 / 2 = 1/8
    # B separates perfectly: AUROC 1, constant components, no variance, no covariance.
    # z = (3/4 - 1) / sqrt(1/8) = -0.7071; p = 2 * Phi(-0.7071) = 0.4795
    y = [1, 1, 0, 0]
    result = delong(y, [0.9, 0.4, 0.5, 0.1], [0.8, 0.7, 0.3, 0.2])
    assert result["a"] == pytest.approx(0.75)
    assert result["b"] == pytest.approx(1.0)
    assert result["var_a"] == pytest.approx(1 / 8)
    assert result["var_b"] == pytest.approx(0.0)
    assert result["covariance"] == pytest.approx(0.0)
    assert result["difference"] == pytest.approx(-0.25)
    assert result["se"] == pytest.approx(math.sqrt(1 / 8))
    assert result["z"] == pytest.approx(-1 / math.sqrt(2))
    assert result["p"] == pytest.approx(0.4795, abs=1e-4)
    assert result["ci_low"] == pytest.approx(-0.25 - 1.959964 * math.sqrt(1 / 8), abs=1e-5)
    json.dumps(result)


def test_delong_midranks_match_the_definition_with_ties():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, size=40)
    y[:2] = [0, 1]
    # Rounded scores give many ties, which the midranks must count as halves.
    p_a = np.round(rng.random(40) * 0.5 + 0.4 * y, 1)
    p_b = np.round(rng.random(40) * 0.8 + 0.1 * y, 1)
    result = delong(y, p_a, p_b)
    auc_a, auc_b, var = _delong_by_definition(y, p_a, p_b)
    assert result["a"] == pytest.approx(auc_a)
    assert result["b"] == pytest.approx(auc_b)
    assert result["a"] == pytest.approx(participant_metrics(y, p_a)["auroc"])
    assert result["se"] == pytest.approx(math.sqrt(var))


def test_delong_agrees_with_the_paired_bootstrap():
    rng = np.random.default_rng(7)
    y = np.r_[np.ones(60, int), np.zeros(90, int)]
    signal = rng.normal(size=150) + 1.5 * y
    p_a = 1 / (1 + np.exp(-(signal + rng.normal(scale=0.3, size=150))))  # little noise
    p_b = 1 / (1 + np.exp(-(signal + rng.normal(scale=3.0, size=150))))  # much noise
    test = delong(y, p_a, p_b)
    boot = paired_bootstrap(y, p_a, p_b, metric="auroc", n_boot=2000, seed=1)
    assert boot["difference"] == pytest.approx(test["difference"])
    # The bootstrap interval's half-width estimates 1.96 standard errors.
    half_width = (boot["ci_high"] - boot["ci_low"]) / 2
    assert half_width == pytest.approx(1.96 * test["se"], rel=0.15)
    assert test["ci_low"] == pytest.approx(boot["ci_low"], abs=0.02)
    assert test["p"] < 0.05 and boot["ci_low"] > 0 and boot["share_a_better"] > 0.975


def test_delong_identical_scores_and_bad_input():
    y = [1, 1, 0, 0, 1]
    p = [0.9, 0.3, 0.4, 0.2, 0.6]
    same = delong(y, p, p)
    assert same["difference"] == 0 and same["z"] == 0 and same["p"] == 1
    with pytest.raises(ValueError, match="at least two participants of each class"):
        delong([1, 0, 0], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="Expected 3 probabilities"):
        delong([1, 1, 0], [0.1, 0.2], [0.1, 0.2, 0.3])


def test_paired_bootstrap_by_hand_and_its_resamples():
    # Five participants. A: TP, TP, TN, TN, FP -> F1 dep 4/5, F1 not 4/5, macro 0.8.
    # B: TP, FN, TN, TN, TN -> F1 dep 2/3, F1 not 6/7, macro 0.7619.
    y = [1, 1, 0, 0, 0]
    p_a = [0.9, 0.8, 0.1, 0.2, 0.7]
    p_b = [0.9, 0.3, 0.1, 0.2, 0.4]
    result = paired_bootstrap(y, p_a, p_b, n_boot=500, seed=0)
    assert result["a"] == pytest.approx(0.8)
    assert result["b"] == pytest.approx((2 / 3 + 6 / 7) / 2)
    assert result["difference"] == pytest.approx(0.8 - (2 / 3 + 6 / 7) / 2)
    assert result["n"] == 5 and result["n_boot"] == 500
    assert result["ci_low"] <= result["difference"] <= result["ci_high"]
    assert 0 < result["share_a_better"] < 1
    assert paired_bootstrap(y, p_a, p_b, n_boot=500, seed=0) == result
    json.dumps(result)


def test_paired_bootstrap_of_a_run_with_itself_is_zero():
    y = [1, 0, 1, 0, 0, 1]
    p = [0.7, 0.2, 0.4, 0.6, 0.1, 0.9]
    for metric in ("macro_f1", "auroc", "balanced_accuracy", "f1_depressed"):
        result = paired_bootstrap(y, p, p, metric=metric, n_boot=200)
        assert result["difference"] == 0
        assert result["ci_low"] == result["ci_high"] == 0
        assert result["share_a_better"] == 0


def test_paired_bootstrap_sees_a_clear_winner():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=80)
    perfect = y * 0.8 + 0.1
    coin = rng.random(80)
    result = paired_bootstrap(y, perfect, coin, metric="macro_f1", n_boot=500)
    assert result["a"] == 1.0 and result["ci_low"] > 0
    assert result["share_a_better"] == 1.0
    flipped = paired_bootstrap(y, coin, perfect, metric="macro_f1", n_boot=500)
    assert flipped["difference"] == pytest.approx(-result["difference"])
    assert flipped["ci_high"] < 0 and flipped["share_a_better"] == 0


def test_paired_bootstrap_rejects_bad_arguments():
    with pytest.raises(ValueError, match="metric must be one of"):
        paired_bootstrap([1, 0], [0.1, 0.2], [0.1, 0.2], metric="val_loss")
    with pytest.raises(ValueError, match="n_boot"):
        paired_bootstrap([1, 0], [0.1, 0.2], [0.1, 0.2], n_boot=0)
    with pytest.raises(ValueError, match="Expected 2 probabilities"):
        paired_bootstrap([1, 0], [0.1, 0.2], [0.1])


def test_align_pairs_common_participants_in_one_order():
    a = [
        {"id": 303, "label": 0, "prob": 0.3},
        {"id": 301, "label": 1, "prob": 0.9},
        {"id": 302, "label": 1, "prob": 0.6},
    ]
    b = [
        {"id": 302, "label": 1, "prob": 0.2},
        {"id": 304, "label": 0, "prob": 0.5},
        {"id": 301, "label": 1, "prob": 0.8},
    ]
    paired = align(a, b)
    assert paired.ids == [301, 302]
    np.testing.assert_array_equal(paired.y, [1, 1])
    np.testing.assert_allclose(paired.p_a, [0.9, 0.6])
    np.testing.assert_allclose(paired.p_b, [0.8, 0.2])
    assert paired.only_a == [303] and paired.only_b == [304]


def test_align_refuses_what_cannot_be_compared():
    a = [{"id": 301, "label": 1, "prob": 0.9}, {"id": 302, "label": 0, "prob": 0.2}]
    with pytest.raises(ValueError, match=r"run x and run y give different labels.*\[302\]"):
        align(a, [{"id": 302, "label": 1, "prob": 0.2}], "run x", "run y")
    with pytest.raises(ValueError, match="share no participant"):
        align(a, [{"id": 400, "label": 1, "prob": 0.2}])
    with pytest.raises(ValueError, match="B: participant 7 appears more than once"):
        align(a, [{"id": 7, "label": 1, "prob": 0.2}, {"id": 7, "label": 1, "prob": 0.3}])
    with pytest.raises(ValueError, match="A: participant row 0 must have"):
        align([{"id": 1, "prob": 0.3}], a)


def test_plain_sentence_names_the_higher_one_and_says_if_it_is_noise():
    result = {"metric": "macro_f1", "difference": 0.06, "ci_low": -0.04, "ci_high": 0.15, "n": 35}
    assert plain_sentence(result, "A", "B") == (
        "A's macro-F1 is higher than B's by 0.06 [-0.04, 0.15]: "
        "not distinguishable on these 35 participants"
    )
    lower = {"metric": "auroc", "difference": -0.2, "ci_low": -0.3, "ci_high": -0.1, "n": 40}
    assert plain_sentence(lower, "hidden 32", "hidden 64") == (
        "hidden 64's AUROC is higher than hidden 32's by 0.20 [0.10, 0.30]: "
        "hidden 64 is better on these 40 participants"
    )
    tie = {"metric": "macro_f1", "difference": 0.0, "ci_low": 0.0, "ci_high": 0.0, "n": 6}
    assert plain_sentence(tie, "A", "B", "macro_f1").startswith("A and B have the same macro-F1")


def test_plain_sentence_from_real_results():
    y = [1, 1, 0, 0, 0, 1]
    p_a = [0.9, 0.8, 0.1, 0.2, 0.3, 0.7]
    p_b = [0.4, 0.8, 0.6, 0.2, 0.3, 0.3]
    sentence = plain_sentence(paired_bootstrap(y, p_a, p_b, n_boot=300), "A", "B")
    assert sentence.startswith("A's macro-F1 is higher than B's by ")
    assert sentence.endswith("on these 6 participants")
    assert "AUROC" in plain_sentence(delong(y, p_a, p_b), "A", "B")
