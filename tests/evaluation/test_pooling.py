"""The configuration's figure: mean over seeds, one bootstrap shared by the seeds."""

from __future__ import annotations

import numpy as np
import pytest

from core.evaluation.compare import paired_bootstrap
from core.evaluation.metrics import participant_metrics
from core.evaluation.pooling import ScoredRun, estimand, paired_estimand, pool_seeds


def _runs(y, seeds_probs, name="r"):
    return [
        ScoredRun(f"{name}{s}", s, [{"id": i, "label": y[i], "prob": p[i]} for i in range(len(y))])
        for s, p in enumerate(seeds_probs)
    ]


Y = [1, 1, 1, 0, 0, 0, 0, 1, 0, 0]
A = [
    [0.9, 0.4, 0.6, 0.2, 0.1, 0.7, 0.3, 0.8, 0.4, 0.2],
    [0.6, 0.7, 0.4, 0.3, 0.6, 0.2, 0.1, 0.9, 0.3, 0.2],
]
B = [[0.55, 0.45, 0.6, 0.5, 0.4, 0.3, 0.45, 0.52, 0.6, 0.1]]


def test_the_figure_is_the_mean_over_seeds_and_its_interval_is_shared():
    found = estimand(pool_seeds(_runs(Y, A)), "macro_f1", n_boot=400)
    per_seed = [participant_metrics(Y, p)["macro_f1"] for p in A]
    assert found.value == pytest.approx(np.mean(per_seed))
    assert [s["value"] for s in found.per_seed] == pytest.approx(per_seed)
    assert found.ci_low <= found.value <= found.ci_high
    mean = np.mean(A, axis=0)
    assert found.ensemble == pytest.approx(participant_metrics(Y, mean)["macro_f1"])
    # The same seed twice is that seed: the interval of the mean is the seed's own.
    twice = estimand(pool_seeds(_runs(Y, [A[0], A[0]])), "auroc", n_boot=400)
    once = estimand(pool_seeds(_runs(Y, [A[0]])), "auroc", n_boot=400)
    assert (twice.value, twice.ci_low, twice.ci_high) == (once.value, once.ci_low, once.ci_high)
    loss = estimand(pool_seeds(_runs(Y, A)), "val_loss", n_boot=100)
    assert loss.ci_low <= loss.value <= loss.ci_high


def test_one_seed_each_is_the_paired_bootstrap_of_two_runs():
    ours = paired_estimand(pool_seeds(_runs(Y, A[:1])), pool_seeds(_runs(Y, B)), "macro_f1")
    theirs = paired_bootstrap(Y, A[0], B[0], metric="macro_f1", n_boot=2000)
    for key in ("a", "b", "difference", "ci_low", "ci_high", "share_a_better", "n"):
        assert ours[key] == pytest.approx(theirs[key])


def test_two_configurations_are_compared_on_their_means_over_seeds():
    result = paired_estimand(pool_seeds(_runs(Y, A)), pool_seeds(_runs(Y, B)), "auroc", n_boot=300)
    a = np.mean([participant_metrics(Y, p)["auroc"] for p in A])
    assert result["a"] == pytest.approx(a) and result["seeds_a"] == 2
    assert result["difference"] == pytest.approx(a - participant_metrics(Y, B[0])["auroc"])
    assert result["ci_low"] <= result["difference"] <= result["ci_high"]
