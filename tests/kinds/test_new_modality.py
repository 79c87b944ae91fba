"""A fifth modality joins with its own files only: a kind, its model and its settings.

The test writes a plugin package, ``prosody_kind``, in a temporary folder: a windowed
model over five COVAREP prosody columns. Named in ``DAIC_KINDS`` it registers itself
(:func:`core.kinds.register`) in this process and in every process started from it; no
file of the project changes. It then trains and is evaluated from the command line, takes
part in a fusion (with a text run: any set of sources), is accepted by an experiment spec
and offered by the Train page.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from core import hparams
from core.runs import folder
from tests.kinds.helpers import TINY

KIND = '''
"""A toy modality: prosody, five COVAREP columns, read by a small GRU."""

from core.kinds import register
from core.kinds.neural import NeuralKind

PROSODY = ("F0", "VUV", "NAQ", "QOQ", "H1H2")


class ProsodyKind(NeuralKind):
    name = "prosody"
    hparams_like = "audio"  # its settings are the audio runs' (windows, training, ...)
    hparam_defaults = {"hidden_size": 8}
    corpus_files = "audio"  # it reads COVAREP, which the corpus lists as audio

    def feature_settings(self, features):
        from core.data.features import FeatureSettings

        gate = features.get("gate", "participant")
        return FeatureSettings(("covarep",), features.get("rate_hz"), gate, columns=PROSODY)

    def build_model(self, n_features, model):
        from prosody_kind.model import ProsodyNet

        return ProsodyNet(n_features, model["hidden_size"])

    def saved_model(self, class_name, init_kwargs):
        from prosody_kind.model import ProsodyNet

        return ProsodyNet(**init_kwargs)

    def trainer_class(self):
        from core.training.trainers import AudioRNNTrainer

        return AudioRNNTrainer


register(ProsodyKind())
'''

MODEL = '''
"""ProsodyNet: a GRU over the windows, its states pooled by attention over time."""

import torch
from torch import nn

from core.models.interface import Attention, NeuralClassifier


class ProsodyNet(NeuralClassifier):
    def __init__(self, n_features, hidden_size):
        super().__init__()
        self.init_kwargs = {"n_features": int(n_features), "hidden_size": int(hidden_size)}
        self.gru = nn.GRU(n_features, hidden_size, batch_first=True)
        self.score = nn.Linear(hidden_size, 1)
        self.out = nn.Linear(hidden_size, 2)

    def _pooled(self, x):
        steps, _ = self.gru(x)  # (B, T, F) -> (B, T, H)
        weights = torch.softmax(self.score(steps).squeeze(-1), dim=1)  # (B, T)
        return (steps * weights.unsqueeze(-1)).sum(dim=1), weights  # (B, H), (B, T)

    def embed(self, x):
        return self._pooled(x)[0]  # (B, H)

    def logits_from_embedding(self, embedding):
        return self.out(embedding)  # (B, H) -> (B, 2)

    def attend(self, x):
        embedding, weights = self._pooled(x)  # (B, H), (B, T)
        return Attention(self.out(embedding), weights, None)  # (B, 2), (B, T)

    def forward(self, x):
        return self.logits(x)  # (B, T, F) -> (B, 2)
'''


@pytest.fixture
def prosody(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The plugin written, on the import path and in ``DAIC_KINDS``; taken out after."""
    import core.kinds

    plugins = tmp_path / "plugins"
    (plugins / "prosody_kind").mkdir(parents=True)
    (plugins / "prosody_kind" / "__init__.py").write_text(textwrap.dedent(KIND))
    (plugins / "prosody_kind" / "model.py").write_text(textwrap.dedent(MODEL))
    monkeypatch.syspath_prepend(str(plugins))
    monkeypatch.setenv(core.kinds.PLUGINS_VARIABLE, "prosody_kind")
    core.kinds._load_plugins()
    yield core.kinds.KINDS["prosody"]
    core.kinds.unregister("prosody")
    import sys

    for name in [n for n in sys.modules if n.startswith("prosody_kind")]:
        del sys.modules[name]


def _train(*args: str) -> int:
    from core.train import main

    return main([*args, "--quiet"])


@pytest.mark.slow
def test_a_new_modality_trains_evaluates_and_joins_a_fusion(
    prosody, small_corpus, tmp_path, monkeypatch
):
    from core.evaluate import main as evaluate
    from core.kinds import get_kind, kind_of, source_modalities

    assert "prosody" in hparams.modalities() and get_kind("prosody") is prosody
    assert "prosody" in source_modalities() and "prosody" in get_kind("fusion").sources
    runs_root = tmp_path / "checkpoints"
    monkeypatch.setenv("DAIC_RUNS_ROOT", str(runs_root))
    run = runs_root / "prosody"
    data = ["--data", str(small_corpus)]
    assert _train("prosody", *data, "--run-dir", str(run), *TINY, "--max-epochs", "2") == 0
    config = folder.read_json(run / folder.CONFIG)
    assert config["modality"] == "prosody" and config["model"]["hidden_size"] == 8
    loaded = kind_of(run).load(run)
    assert loaded.config["data"]["feature_names"] == ["F0", "VUV", "NAQ", "QOQ", "H1H2"]
    saved = folder.read_json(run / folder.EVALUATION)
    assert "dev" in saved["splits"]
    assert evaluate([str(run), "--split", "dev"]) == 0

    text = runs_root / "text"
    assert _train("text", *data, "--run-dir", str(text), "--min-df", "2") == 0
    from core.config import make_config

    fusion_config = make_config(
        "fusion", small_corpus, {"max_epochs": 2}, 0, {"prosody": str(run), "text": str(text)}
    )
    config_file = tmp_path / "fusion.json"
    config_file.write_text(json.dumps(fusion_config))
    fusion = runs_root / "fusion"
    assert _train("--config", str(config_file), "--run-dir", str(fusion)) == 0
    fused = get_kind("fusion").load(fusion)
    assert fused.config["data"]["inputs"] == {"prosody": 8, "text": 0}
    assert "dev" in folder.read_json(fusion / folder.EVALUATION)["splits"]
    _appears_on_every_screen(small_corpus)


def test_an_experiment_spec_and_the_train_page_offer_a_new_modality(prosody):
    from core.experiment.spec import spec_from_dict

    spec = spec_from_dict(
        {
            "name": "prosody",
            "modality": "prosody",
            "objective": "macro_f1",
            "protocol": "dev",
            "seeds": [0],
            "sampler": "grid",
            "fixed": {"max_epochs": 1},
            "search": {"hidden_size": [8, 16]},
        }
    )
    assert spec.modality == "prosody"


def _appears_on_every_screen(corpus: Path) -> None:
    from tests.screens.apptest import fresh_train_session, open_page

    at = fresh_train_session(corpus)
    at.button_group(key="train_modality").set_value("prosody").run()
    assert not at.exception, at.exception
    keys = {w.key for w in at.get("slider") + at.get("select_slider") + at.get("number_input")}
    assert "train_prosody_hidden_size" in keys
    for page in ("runs", "explain", "predict", "report", "experiments"):
        at = open_page(page, corpus)
        assert not at.exception, (page, at.exception)
        if page == "explain":  # its model and one participant explained
            assert at.radio(key="explain_modality").value == "prosody"  # the first one
        if page == "predict":  # its run chosen and scored beside the others
            assert at.selectbox(key="predict_prosody_run").value.endswith("prosody")
            assert "Prosody" in [m.label for m in at.metric]
