"""Subgroup metrics against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from core.report.subgroups import MIN_GROUP, auroc, group_columns, subgroup_metrics

# Group 0 (female): labels 1 1 0 0, probabilities .9 .4 .6 .1
#   predicted 1 0 1 0: sensitivity 1/2, specificity 1/2, AUROC 3/4 (pairs .9>.6, .9>.1,
#   .4<.6, .4>.1), macro-F1 (1/2 + 1/2) / 2 = 1/2.
# Group 1 (male): labels 1 0 0, probabilities .8 .3 .2: all right, every metric 1.
LABELS = [1, 1, 0, 0, 1, 0, 0]
PROBS = [0.9, 0.4, 0.6, 0.1, 0.8, 0.3, 0.2]
GENDER = [0, 0, 0, 0, 1, 1, 1]


def test_each_group_matches_the_hand_computed_metrics():
    result = subgroup_metrics(LABELS, PROBS, GENDER, n_boot=20)
    groups = {g["group"]: g for g in result["groups"]}
    assert set(groups) == {"female", "male"}
    female, male = groups["female"], groups["male"]
    assert (female["n"], female["n_depressed"]) == (4, 2)
    assert (male["n"], male["n_depressed"]) == (3, 1)
    assert female["values"] == pytest.approx(
        {
            "auroc": 0.75,
            "macro_f1": 0.5,
            "balanced_accuracy": 0.5,
            "sensitivity": 0.5,
            "specificity": 0.5,
        }
    )
    assert male["values"] == pytest.approx(dict.fromkeys(result["metrics"], 1.0))
    assert result["difference"]["auroc"] == pytest.approx(0.25)
    assert result["difference"]["sensitivity"] == pytest.approx(0.5)
    assert result["overall"]["auroc"] == pytest.approx(roc_auc_score(LABELS, PROBS))


def test_small_groups_are_warned_about_and_large_ones_are_not():
    result = subgroup_metrics(LABELS, PROBS, GENDER, n_boot=20)
    assert all(g["too_small"] for g in result["groups"])
    assert len(result["warnings"]) == 2
    assert "female" in result["warnings"][0] and "too small" in result["warnings"][0]

    rng = np.random.default_rng(0)
    n = 2 * MIN_GROUP + 10
    labels = np.tile([0, 1], n // 2)
    probs = rng.random(n)
    gender = np.repeat([0, 1], n // 2)
    result = subgroup_metrics(labels, probs, gender, n_boot=20)
    assert not any(g["too_small"] for g in result["groups"]) and result["warnings"] == []


def test_intervals_come_from_the_bootstrap_and_repeat_with_the_seed():
    first = subgroup_metrics(LABELS * 3, PROBS * 3, GENDER * 3, n_boot=15, seed=1)
    again = subgroup_metrics(LABELS * 3, PROBS * 3, GENDER * 3, n_boot=15, seed=1)
    other = subgroup_metrics(LABELS * 3, PROBS * 3, GENDER * 3, n_boot=15, seed=2)
    assert first["groups"] == again["groups"]
    assert first["difference_interval"] == again["difference_interval"]
    assert first["groups"] != other["groups"]
    for group in first["groups"]:
        for metric in ("macro_f1", "sensitivity"):
            lo, hi = group["intervals"][metric]
            assert 0.0 <= lo <= hi <= 1.0
    lo, hi = first["difference_interval"]["auroc"]
    assert 0.0 <= lo <= hi <= 1.0


def test_participants_without_a_group_are_left_out_and_counted():
    result = subgroup_metrics([*LABELS, 1], [*PROBS, 0.99], [*GENDER, None], n_boot=10)
    assert result["left_out"] == 1
    assert sum(g["n"] for g in result["groups"]) == len(LABELS)


def test_bad_input_says_what_is_wrong():
    with pytest.raises(ValueError, match="one length"):
        subgroup_metrics([0, 1], [0.5], [0, 1], n_boot=10)
    with pytest.raises(ValueError, match="no participant has a known gender"):
        subgroup_metrics([0, 1], [0.2, 0.7], [None, None], n_boot=10)
    with pytest.raises(ValueError, match="0 or 1"):
        subgroup_metrics([0, 2], [0.2, 0.7], [0, 1], n_boot=10)


def test_auroc_equals_scikit_learn_with_ties_and_is_nan_for_one_class():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(2, 25))
        labels = rng.integers(0, 2, n)
        probs = rng.integers(0, 5, n) / 4  # many ties
        if np.unique(labels).size == 2:
            assert auroc(labels, probs) == pytest.approx(roc_auc_score(labels, probs))
    assert np.isnan(auroc(np.ones(4), np.linspace(0, 1, 4)))


def test_group_columns_read_gender_of_each_participant():
    class P:
        def __init__(self, gender):
            self.gender = gender

    participants = {1: P(0), 2: P(1), 3: P(None)}
    assert group_columns(participants, [2, 1, 3]) == {"gender": [1, 0, None]}
    assert group_columns({4: P(None)}, [4]) == {}
