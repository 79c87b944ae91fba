"""Calibration: Brier and ECE by hand, and a recalibration never fitted on the judged split."""

from __future__ import annotations

import numpy as np
import pytest

from core.report.calibration import (
    Recalibration,
    calibration_section,
    calibration_summary,
    expected_calibration_error,
)
from core.report.inputs import fitting_predictions, load_run
from core.report.predictions import Predictions


def test_brier_and_ece_match_hand_computed_values():
    # Bins (scikit-learn's): 0.1 -> [0, 0.1], 0.7 -> (0.6, 0.7], 0.9 -> (0.8, 0.9].
    # Gaps: |0 - 0.1| (two participants), |1 - 0.7|, |1 - 0.9| -> (0.2 + 0.3 + 0.1) / 4.
    predictions = Predictions([1, 2, 3, 4], [0, 0, 1, 1], [0.1, 0.1, 0.9, 0.7])
    summary = calibration_summary(predictions)
    assert summary["ece"] == pytest.approx(0.15)
    assert summary["brier"] == pytest.approx((0.01 + 0.01 + 0.01 + 0.09) / 4)
    assert summary["predicted"] == pytest.approx([0.1, 0.7, 0.9])
    assert summary["observed"] == pytest.approx([0.0, 1.0, 1.0])
    assert summary["counts"] == [2, 1, 1]
    assert expected_calibration_error(np.array([1, 0]), np.array([1.0, 0.0])) == 0.0


def _fitting(rng: np.random.Generator, n: int = 60) -> Predictions:
    labels = rng.integers(0, 2, n)
    probs = np.clip(0.5 + 0.15 * (2 * labels - 1) + rng.normal(0, 0.1, n), 0.01, 0.99)
    return Predictions(np.arange(100, 100 + n), labels, probs)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_the_calibration_never_uses_the_judged_split(method):
    rng = np.random.default_rng(0)
    fitting = _fitting(rng)
    dev = Predictions([1, 2, 3, 4, 5], [0, 1, 0, 1, 1], [0.2, 0.7, 0.45, 0.55, 0.9])
    recalibration = Recalibration(method).fit(fitting)
    assert recalibration.fitted_ids_ == frozenset(range(100, 160))
    assert recalibration.fitted_ids_.isdisjoint(dev.ids.tolist())
    after = recalibration.apply(dev).probs
    # The judged labels play no part: flipping every dev label changes nothing.
    flipped = Predictions(dev.ids, 1 - dev.labels, dev.probs)
    assert np.array_equal(Recalibration(method).fit(fitting).apply(flipped).probs, after)
    # Its fitting participants can never be judged by it.
    with pytest.raises(ValueError, match="fitting set"):
        recalibration.apply(fitting.subset([100, 101]))
    with pytest.raises(ValueError, match="fitting set"):
        calibration_section({"dev": fitting}, fitting, "the same participants", method)


def test_platt_scaling_moves_overconfident_probabilities_towards_the_truth():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 400)
    overconfident = np.where(labels == 1, 0.95, 0.05)
    noisy = np.where(rng.random(400) < 0.3, 1 - labels, labels)  # 30 % flipped
    fitting = Predictions(np.arange(200), noisy[:200], overconfident[:200])
    judged = Predictions(np.arange(200, 400), noisy[200:], overconfident[200:])
    section = calibration_section({"dev": judged}, fitting, "a fitting set", "platt")
    before, after = section["splits"]["dev"]["before"], section["splits"]["dev"]["after"]
    assert after["ece"] < before["ece"] and after["brier"] < before["brier"]
    assert section["method"] == "platt" and section["fitting"]["n"] == 200


def test_without_a_fitting_set_only_the_scores_as_made_are_shown():
    judged = Predictions([1, 2], [0, 1], [0.3, 0.6])
    section = calibration_section({"dev": judged}, None, "none saved", "platt")
    assert section["method"] is None and set(section["splits"]["dev"]) == {"before"}
    one_class = Predictions([7, 8], [1, 1], [0.3, 0.6])
    section = calibration_section({"dev": judged}, one_class, "one class", "platt")
    assert "one class" in section["notes"][0]


def test_a_text_runs_fitting_set_is_its_out_of_fold_training_participants(report_text_run):
    inputs = load_run(report_text_run)
    fitting, note = fitting_predictions(inputs)
    assert "out-of-fold" in note
    train = set(inputs.corpus.ids("train", labelled=True))
    assert set(fitting.ids.tolist()) <= train
    for split in inputs.reports:
        assert set(fitting.ids.tolist()).isdisjoint(inputs.predictions(split).ids.tolist())
    assert np.array_equal(fitting.labels, inputs.corpus.labels(fitting.ids.tolist()))
