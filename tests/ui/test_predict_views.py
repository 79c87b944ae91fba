"""The Predict page's plain helpers: how a score and the fusion's metric read."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ui.predict_views import fusion_value, missing_modality, own_kinds, percent


def test_percent_and_missing_scores() -> None:
    assert [percent(p) for p in (0.256, None, np.nan)] == ["26%", "—", "—"]


def test_the_fusion_is_shown_only_with_every_input() -> None:
    assert fusion_value(None, None) == "no run"
    assert fusion_value(None, "runs/fusion") == "—"  # it could not score: says why below
    assert fusion_value(SimpleNamespace(probability=0.4, complete=False), "f") == "not shown"
    assert fusion_value(SimpleNamespace(probability=0.4, complete=True), "f") == "40%"


def test_the_modalities_scored_from_files_leave_out_the_fusion() -> None:
    assert own_kinds() == ("text", "audio", "face")
    assert missing_modality("audio", 301, None)["error"] == "participant 301 has no audio files"
