import json
import math

import numpy as np
import pytest

from core.evaluation import (
    aggregate_windows,
    bootstrap_intervals,
    evaluate,
    participant_metrics,
    trivial_baselines,
)
from core.evaluation.metrics import BASELINE_NAMES

# Five participants, two windows each, listed out of order. Worked out by hand:
#   301 (depressed)     0.9, 0.7 -> 0.8 -> predicted 1  (TP)
#   302 (depressed)     0.2, 0.4 -> 0.3 -> predicted 0  (FN)
#   303 (not depressed) 0.6, 0.8 -> 0.7 -> predicted 1  (FP)
#   304 (not depressed) 0.1, 0.3 -> 0.2 -> predicted 0  (TN)
#   305 (not depressed) 0.0, 0.2 -> 0.1 -> predicted 0  (TN)
IDS = [303, 301, 305, 302, 304, 301, 303, 304, 302, 305]
PROBS = [0.6, 0.9, 0.0, 0.2, 0.1, 0.7, 0.8, 0.3, 0.4, 0.2]
LABELS = [0, 1, 0, 1, 0, 1, 0, 0, 1, 0]


def test_aggregate_windows_by_hand():
    ids, probs, labels = aggregate_windows(IDS, PROBS, LABELS)
    np.testing.assert_array_equal(ids, [301, 302, 303, 304, 305])
    np.testing.assert_allclose(probs, [0.8, 0.3, 0.7, 0.2, 0.1])
    np.testing.assert_array_equal(labels, [1, 1, 0, 0, 0])


def test_aggregate_windows_median_and_string_ids():
    ids, probs, labels = aggregate_windows(["b", "a", "a", "a"], [0.5, 0.1, 0.2, 0.9], how="median")
    np.testing.assert_array_equal(ids, ["a", "b"])
    np.testing.assert_allclose(probs, [0.2, 0.5])
    assert labels is None
    _, means, _ = aggregate_windows(["b", "a", "a", "a"], [0.5, 0.1, 0.2, 0.9])
    np.testing.assert_allclose(means, [0.4, 0.5])


def test_aggregate_windows_rejects_mixed_labels_and_bad_input():
    with pytest.raises(ValueError, match=r"participant\(s\) \[302\]"):
        aggregate_windows([301, 301, 302, 302], [0.1, 0.2, 0.3, 0.4], [1, 1, 0, 1])
    with pytest.raises(ValueError, match="same length"):
        aggregate_windows([301, 302], [0.1])
    with pytest.raises(ValueError, match="how must be"):
        aggregate_windows([301], [0.1], how="max")


def test_participant_metrics_by_hand():
    m = participant_metrics([1, 1, 0, 0, 0], [0.8, 0.3, 0.7, 0.2, 0.1])
    assert m["confusion_matrix"] == [[2, 1], [1, 1]]  # [[tn, fp], [fn, tp]]
    assert m["n"] == 5 and m["n_depressed"] == 2
    assert m["f1_depressed"] == pytest.approx(2 * 1 / (2 * 1 + 1 + 1))  # 0.5
    assert m["f1_not_depressed"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))  # 2/3
    assert m["macro_f1"] == pytest.approx(7 / 12)
    assert m["precision"] == pytest.approx(0.5)
    assert m["recall"] == pytest.approx(0.5)
    assert m["balanced_accuracy"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    # Positive/negative pairs ranked correctly: 0.8 beats 3 negatives, 0.3 beats 2 -> 5 / 6.
    assert m["auroc"] == pytest.approx(5 / 6)
    json.dumps(m)
    assert all(type(v) in (int, float, list) for v in m.values())


def test_threshold_is_inclusive_and_configurable():
    assert participant_metrics([1, 0], [0.5, 0.49])["confusion_matrix"] == [[1, 0], [0, 1]]
    assert participant_metrics([1, 0], [0.5, 0.49], threshold=0.6)["recall"] == 0.0


def test_single_class_auroc_is_nan_and_zero_division_is_zero():
    m = participant_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert math.isnan(m["auroc"])
    assert m["f1_depressed"] == 0.0 and m["precision"] == 0.0 and m["recall"] == 0.0
    assert m["f1_not_depressed"] == 1.0
    assert m["confusion_matrix"] == [[3, 0], [0, 0]]


def test_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="only 0 and 1"):
        participant_metrics([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="NaN"):
        participant_metrics([0, 1], [0.1, float("nan")])
    with pytest.raises(ValueError, match="Expected 2 probabilities"):
        participant_metrics([0, 1], [0.1])


def noisy_scores(n=50, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    y[:2] = [0, 1]
    p = np.clip(0.35 + 0.3 * y + rng.normal(0, 0.2, n), 0, 1)
    return y, p


def test_bootstrap_contains_point_estimate_and_is_deterministic():
    y, p = noisy_scores()
    point = participant_metrics(y, p)
    intervals = bootstrap_intervals(y, p, n_boot=500, seed=3)
    assert set(intervals) == {
        "macro_f1",
        "f1_depressed",
        "f1_not_depressed",
        "balanced_accuracy",
        "auroc",
    }
    for name, (lo, hi) in intervals.items():
        assert lo <= point[name] <= hi, name
        assert lo < hi
    assert intervals == bootstrap_intervals(y, p, n_boot=500, seed=3)
    assert intervals != bootstrap_intervals(y, p, n_boot=500, seed=4)
    json.dumps(intervals)


def test_bootstrap_agrees_with_sklearn_on_the_same_resamples():
    y, p = noisy_scores(n=12, seed=1)
    n_boot, seed = 40, 5
    counts = np.random.default_rng(seed).multinomial(12, np.full(12, 1 / 12), size=n_boot)
    per_metric = {name: [] for name in ("macro_f1", "f1_depressed", "balanced_accuracy", "auroc")}
    for row in counts:
        idx = np.repeat(np.arange(12), row)
        m = participant_metrics(y[idx], p[idx])
        for name, values in per_metric.items():
            if not math.isnan(m[name]):
                values.append(m[name])
    ours = bootstrap_intervals(y, p, n_boot=n_boot, seed=seed)
    for name, values in per_metric.items():
        np.testing.assert_allclose(ours[name], np.percentile(values, [2.5, 97.5]), err_msg=name)


def test_bootstrap_auroc_nan_when_every_resample_has_one_class():
    intervals = bootstrap_intervals([1, 1, 1], [0.2, 0.6, 0.9], n_boot=20)
    assert all(math.isnan(v) for v in intervals["auroc"])
    assert intervals["f1_depressed"][1] <= 1.0


def test_trivial_baselines():
    base = trivial_baselines([1, 0, 0, 0])
    always = base["always_depressed"]
    assert always["confusion_matrix"] == [[0, 3], [0, 1]]
    assert always["f1_depressed"] == pytest.approx(2 / 5)
    assert always["f1_not_depressed"] == 0.0
    assert always["auroc"] == pytest.approx(0.5)
    never = base["always_not_depressed"]
    assert never["confusion_matrix"] == [[3, 0], [1, 0]]
    assert never["f1_not_depressed"] == pytest.approx(6 / 7)
    assert never["macro_f1"] == pytest.approx(3 / 7)
    assert never["balanced_accuracy"] == pytest.approx(0.5)


def test_evaluate_end_to_end():
    report = evaluate(IDS, PROBS, LABELS, n_boot=200, seed=0)
    assert report["level"] == "participant"
    assert report["metrics"]["macro_f1"] == pytest.approx(7 / 12)
    assert report["metrics"]["n"] == 5
    assert set(report["baselines"]) == {"always_depressed", "always_not_depressed"}
    assert set(report["intervals"]) >= {"macro_f1", "auroc"}
    assert report["participants"][0] == {"id": 301, "label": 1, "prob": pytest.approx(0.8)}
    assert [row["id"] for row in report["participants"]] == [301, 302, 303, 304, 305]
    assert type(report["participants"][0]["id"]) is int
    json.dumps(report)


def test_every_trivial_baseline_has_one_display_name():
    assert set(BASELINE_NAMES) == set(trivial_baselines([0, 1]))
    assert BASELINE_NAMES["always_depressed"] == "always 'depressed'"
    assert BASELINE_NAMES["always_not_depressed"] == "always 'not depressed'"
