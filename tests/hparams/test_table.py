"""The hyper-parameter table: its defaults agree with the modules that use them."""

from __future__ import annotations

import inspect

import pytest

from core import hparams
from core.data.features import WindowSettings
from core.data.frames import DEFAULT_RATE_HZ, FeatureSettings
from core.errors import InvalidSetting, UserError


def test_text_defaults_are_those_of_the_text_pipeline() -> None:
    from core.models.text import make_text_pipeline

    signature = inspect.signature(make_text_pipeline).parameters
    text = hparams.defaults("text")["text"]
    for name in ("n_estimators", "min_df", "max_df", "min_samples_split"):
        assert text[name] == signature[name].default, name
    assert (1, text["ngram_max"]) == signature["ngram_range"].default


def test_feature_and_window_defaults_are_those_of_the_settings() -> None:
    face = hparams.defaults("face")
    audio = hparams.defaults("audio")
    assert face["features"]["rate_hz"] == DEFAULT_RATE_HZ["clnf"]
    assert audio["features"]["rate_hz"] == DEFAULT_RATE_HZ["covarep"]
    assert face["features"]["face_features"] == ("aus", "pose", "gaze")
    assert audio["features"]["include_formant"] is False
    assert FeatureSettings().feature_sets == ("covarep",)
    assert audio["windows"] == {"window_s": WindowSettings().window_s, "overlap": 0.5}


def test_fusion_dropout_is_the_fusion_models_default() -> None:
    from core.models.fusion import FusionNet

    default = inspect.signature(FusionNet).parameters["dropout"].default
    assert hparams.defaults("fusion")["model"]["dropout"] == default


def test_every_entry_has_a_label_and_a_help_line() -> None:
    for h in hparams.HPARAMS:
        assert h.label and h.help, h.name
    assert hparams.by_name("hidden_size").label == "Hidden units"
    assert hparams.by_name("dropout").label == "Dropout"  # the name in words by default


def test_a_value_out_of_range_is_a_user_error_and_a_value_error() -> None:
    with pytest.raises(InvalidSetting, match="outside the allowed range 8 to 256") as caught:
        hparams.by_name("hidden_size").parse(4)
    assert isinstance(caught.value, UserError) and isinstance(caught.value, ValueError)
    with pytest.raises(UserError, match="more_epochs 0"):
        hparams.resume_epochs(3, 3, more_epochs=0)


def test_entries_are_built_by_keyword_only() -> None:
    with pytest.raises(TypeError):
        hparams.HParam("hidden_size", "model", 64, ("audio",), "int")  # type: ignore[misc]
