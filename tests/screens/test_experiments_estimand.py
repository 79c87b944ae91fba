"""The Experiments page names the best configuration as ``status`` does, and compares alike.

On the experiment of :mod:`tests.experiment.disagreeing`, whose seed-averaged ensemble and
mean over seeds pick different configurations; nothing is trained or started.
"""

from __future__ import annotations

import json

from core.experiment import experiment_status
from tests.experiment import disagreeing
from tests.screens.apptest import open_page


def chart_specs(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_the_page_shows_the_best_of_status_and_compares_on_the_mean_over_seeds(runs_root, tmp_path):
    exp_dir = disagreeing.build(runs_root / "experiments" / "disagree", tmp_path / "data")
    status = experiment_status(exp_dir)
    best = status["best"]
    assert best["id"] == "c001"
    at = open_page("experiments", tmp_path / "data")
    texts = [t.value for t in at.text]
    assert "Best so far: c001 (hidden_size=16)" in texts
    assert any(f"mean over 3 seeds {best['mean']:.3f}" in t for t in texts)
    assert not any("seed-averaged" in t or "ensemble" in t for t in texts)
    (chart,) = [s for s in chart_specs(at) if s["layout"]["title"]["text"].startswith("macro-F1")]
    (diamonds,) = [t for t in chart["data"] if t.get("name", "").startswith("mean over seeds")]
    means = {c["id"]: c["mean"] for c in status["configurations"]}
    assert dict(zip(diamonds["x"], diamonds["y"], strict=True)) == means

    sentences = [t for t in texts if "macro-F1 is higher than" in t]
    assert sentences and all(
        s.startswith("c001's macro-F1 is higher than c000's") for s in sentences
    )
    assert not any("c000 is better" in t for t in texts)
    at.selectbox(key="experiments_compare_a").set_value("c001")
    at.selectbox(key="experiments_compare_b").set_value("c000").run()
    assert not at.exception, at.exception
    texts = [t.value for t in at.text]
    assert any(t.startswith("c001's macro-F1 is higher than c000's") for t in texts)
    assert [b for b in at.button if b.key == "experiments_promote"]
