"""Cross-validation folds: every participant held out exactly once, stratified, reproducible."""

from __future__ import annotations

import pytest

from core.evaluation.folds import participant_folds

IDS = list(range(300, 335))
LABELS = [1 if i % 3 == 0 else 0 for i in range(35)]


def test_each_participant_is_held_out_exactly_once():
    folds = participant_folds(IDS, LABELS, 3, seed=0)
    held = [pid for fold in folds for pid in fold["dev"]]
    assert sorted(held) == IDS
    for fold in folds:
        assert set(fold["train"]).isdisjoint(fold["dev"])
        assert sorted(fold["train"] + fold["dev"]) == IDS


def test_folds_are_stratified_and_reproducible():
    folds = participant_folds(IDS, LABELS, 3, seed=5)
    label = dict(zip(IDS, LABELS, strict=True))
    depressed = [sum(label[p] for p in fold["dev"]) for fold in folds]
    assert max(depressed) - min(depressed) <= 1
    assert participant_folds(list(reversed(IDS)), list(reversed(LABELS)), 3, seed=5) == folds
    assert participant_folds(IDS, LABELS, 3, seed=6) != folds


@pytest.mark.parametrize("k", [1, 13])
def test_fold_count_out_of_range_is_refused(k):
    with pytest.raises(ValueError, match="folds must be from 2 to 12"):
        participant_folds(IDS, LABELS, k)
