"""The fusion takes any set of source kinds; a three-source fusion saved before still loads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch

from core.kinds import get_kind
from core.kinds.fusion_run import build_fusion_net, fusion_features, fusion_layout

LEGACY = Path(__file__).parent / "data" / "legacy_fusion"
"""A fusion run saved by the code before fusions took any sources (audio 3, face 5, text),
with inputs and the logits that code computed (``expected.json``)."""


def test_a_three_source_fusion_saved_before_loads_and_scores_the_same(tmp_path):
    run_dir = tmp_path / "fusion"
    shutil.copytree(LEGACY, run_dir)  # the fixture is never changed in place
    expected = json.loads((run_dir / "expected.json").read_text())
    run = get_kind("fusion").load(run_dir)
    layout = fusion_layout(run.config["data"])
    assert layout == {"audio": 3, "face": 5, "text": 0}
    entries = {
        m: {
            int(p): (None if e is None else np.asarray(e, np.float32), pr)
            for p, (e, pr) in t.items()
        }
        for m, t in expected["entries"].items()
    }
    x, _ = fusion_features(expected["ids"], entries, layout)
    with torch.no_grad():
        logits = run.model.logits({k: torch.as_tensor(v) for k, v in x.items()})  # (P, 2)
    np.testing.assert_allclose(logits.numpy(), expected["logits"], rtol=1e-6, atol=1e-7)


def test_a_fusion_of_any_sources_is_built_from_their_embedding_sizes():
    layout = {"audio": 4, "text": 0}  # two sources: an embedding and a probability
    model = build_fusion_net(layout, {"hidden_size": 6, "dropout": 0.0}).eval()
    assert model.inputs == {"audio_emb": 4, "text_prob": 1}
    assert model.fc1.in_features == 4 + 1 + 2
    entries = {"audio": {1: (np.ones(4, np.float32), 0.7)}, "text": {2: (None, 0.2)}}
    x, probs = fusion_features([1, 2], entries, layout)
    assert x["mask"].tolist() == [[1.0, 0.0], [0.0, 1.0]]
    np.testing.assert_allclose(x["text_prob"], [[0.0], [0.2]])
    np.testing.assert_allclose(probs["audio"], [0.7, np.nan])
    logits = model.logits({k: torch.as_tensor(v) for k, v in x.items()})  # (2, 2)
    assert logits.shape == (2, 2) and torch.isfinite(logits).all()
