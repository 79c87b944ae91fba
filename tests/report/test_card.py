"""The model card of a real run, its self-contained HTML, and the command line."""

from __future__ import annotations

import re

import numpy as np
import pytest
from plotly.offline import get_plotlyjs

from core.report import Card, Options, build_card, render_html
from core.report.__main__ import main as report_main
from core.report.inputs import load_run
from core.report.pooled import POOLED, cross_fitted, pool_runs
from core.report.predictions import Predictions
from core.runs import folder

SECTIONS = [
    "Intended use",
    "Data",
    "Model and hyper-parameters",
    "Training curves",
    "Participant-level results",
    "Subgroups",
    "Calibration",
    "Shortcut audit",
    "Top explanations",
    "Known limitations",
]
QUICK = Options(n_boot=50, subgroup_boot=10, train_audit=False)


@pytest.fixture(scope="module")
def card(report_text_run) -> Card:
    return build_card(report_text_run, QUICK)


def test_the_card_has_every_section_of_a_model_card(card, report_text_run):
    assert [s.title for s in card.sections] == SECTIONS
    assert report_text_run.name in card.title
    text = " ".join(b.text for s in card.sections for b in s.blocks)
    assert "not a diagnostic device" in text
    assert f"Corpus: {folder.read_config(report_text_run)['data']['root']}" in text
    subgroups = next(s for s in card.sections if s.title == "Subgroups")
    tables = [b for b in subgroups.blocks if b.kind == "table"]
    assert tables and tables[0].columns[:3] == ["gender", "participants", "depressed"]
    assert any(b.kind == "warning" and "too small" in b.text for b in subgroups.blocks)
    assert len(card.figures) >= 5


def test_the_html_is_one_self_contained_file(card):
    page = render_html(card)
    assert page.count(get_plotlyjs()) == 1
    assert page.count("<script") == 1 + len(card.figures)  # Plotly once, one per chart
    assert page.count('class="chart"') == len(card.figures)
    assert page.count("Plotly.newPlot") >= len(card.figures)
    ours = page.replace(get_plotlyjs(), "")  # the library names its home page; that is no request
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", ours)
    assert "<link" not in ours and "@import" not in ours
    assert "cdn.plot.ly" not in ours


def test_text_from_data_is_escaped():
    card = Card("<b>title</b>", "sub")
    section = card.section("<i>section</i>")
    section.text("<script>alert('text')</script>")
    section.warning("<img src=x onerror=alert(1)>")
    section.table(["<th>"], [["<td>&"]], "<caption>")
    page = render_html(card)
    for raw in ("<script>alert", "<img", "<b>title", "<i>section", "<td>&<", "<th></th>"):
        assert raw not in page
    assert "&lt;script&gt;alert(&#x27;text&#x27;)&lt;/script&gt;" in page
    assert "&lt;td&gt;&amp;" in page


def test_the_command_line_writes_the_card_and_says_what_is_wrong(report_text_run, tmp_path, capsys):
    # In process (the browser test runs the real command in its own process).
    out = tmp_path / "card.html"
    args = [str(report_text_run), "--out", str(out), "--no-audit-training"]
    assert report_main([*args, "--subgroup-boot", "10", "--n-boot", "20"]) == 0
    assert out.is_file() and str(out) in capsys.readouterr().out
    assert "Model card" in out.read_text(encoding="utf-8")
    assert report_main([str(tmp_path / "nowhere")]) == 1
    assert "neither a run" in capsys.readouterr().err


def test_cross_fitting_never_calibrates_a_fold_on_itself():
    rng = np.random.default_rng(0)
    n = 90
    labels = rng.integers(0, 2, n)
    probs = np.clip(0.5 + 0.3 * (2 * labels - 1) + rng.normal(0, 0.2, n), 0.01, 0.99)
    pooled = Predictions(np.arange(n), labels, probs)
    folds = {i: i % 3 for i in range(n)}
    after, maps = cross_fitted(pooled, folds, "platt")
    assert len(maps) == 3
    for fold, recalibration in enumerate(maps):
        own = {i for i in range(n) if folds[i] == fold}
        assert recalibration.fitted_ids_.isdisjoint(own)
    flipped = labels.copy()
    fold0 = np.array([folds[i] == 0 for i in range(n)])
    flipped[fold0] = 1 - flipped[fold0]
    again, _ = cross_fitted(Predictions(np.arange(n), flipped, probs), folds, "platt")
    assert np.array_equal(again.probs[fold0], after.probs[fold0])  # its own labels unused
    assert not np.array_equal(again.probs[~fold0], after.probs[~fold0])
    with pytest.raises(ValueError, match="no folds"):
        cross_fitted(pooled, dict.fromkeys(range(n), 0), "platt")


def test_pooling_averages_a_configurations_finished_runs(report_text_run):
    runs = [
        {"state": "completed", "fold": 0, "seed": 0, "path": str(report_text_run)},
        {"state": "completed", "fold": None, "seed": 1, "path": str(report_text_run)},
        {"state": "failed", "fold": 1, "seed": 0, "path": str(report_text_run / "nowhere")},
    ]
    pooled, folds = pool_runs(runs)
    inputs = load_run(report_text_run)
    for name, split in ((POOLED, "dev"), ("test", "test")):
        own = inputs.predictions(split).subset(sorted(inputs.predictions(split).ids.tolist()))
        assert np.array_equal(pooled[name].ids, own.ids)
        assert np.array_equal(pooled[name].labels, own.labels)
        assert np.allclose(pooled[name].probs, own.probs)  # the mean of one run, twice
    assert set(folds) == set(pooled[POOLED].ids.tolist()) and set(folds.values()) == {0}
