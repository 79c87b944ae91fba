"""The words of an experiment's model card: its protocol, its seeds, rounded intervals, lists."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from core.report import Options, render_html
from core.report import card as cards
from core.report.card import Card
from core.report.pooled import build_experiment_card

QUICK = Options(n_boot=50, subgroup_boot=10, train_audit=False)


@pytest.fixture(scope="module")
def dev_experiment_card(report_text_run: Path, small_corpus: Path, tmp_path_factory) -> Card:
    """The card of a dev-protocol experiment: one configuration over seeds 0 and 1."""
    from core.experiment import spec_from_dict
    from core.experiment.folder import create

    spec = spec_from_dict({"name": "words", "modality": "text", "seeds": [0, 1]})
    exp_dir = create(spec, data=small_corpus, out=tmp_path_factory.mktemp("exp") / "words")
    (exp_dir / "configurations.json").write_text(json.dumps({"c000": {"trial": 0, "params": {}}}))
    for seed in (0, 1):  # the same finished run stands for each seed's run
        shutil.copytree(report_text_run, exp_dir / "runs" / f"c000-s{seed}")
    return build_experiment_card(exp_dir, QUICK)


def _words(card: Card) -> str:
    blocks = [b for s in card.sections for b in s.blocks]
    cells = [c for b in blocks for row in b.rows for c in row]
    return " ".join([b.text for b in blocks] + cells)


def test_a_dev_protocol_card_speaks_of_seeds_not_folds(dev_experiment_card):
    text = _words(dev_experiment_card)
    assert "out of fold" not in text and "pooled over folds" not in text
    model = next(s for s in dev_experiment_card.sections if s.title == "Model and hyper-parameters")
    assert "pooled over 2 seeds (0, 1)" in model.blocks[0].text
    assert "seed 0." not in model.blocks[0].text  # not one run's seed
    (results,) = [s for s in dev_experiment_card.sections if s.title.startswith("Participant")]
    assert any(b.text.startswith("dev (ensemble of 2 seeds) split:") for b in results.blocks)


def test_intervals_are_rounded_like_the_point_figures(dev_experiment_card):
    configuration = next(s for s in dev_experiment_card.sections if s.title == "Configuration")
    (per_seed,) = [b for b in configuration.blocks if b.kind == "table" and "seed" in b.columns]
    assert per_seed.text == "per seed, on the official dev split (one run per seed)"
    for _, value, interval, _ in per_seed.rows:
        assert re.fullmatch(r"\d\.\d{3}", value), value
        assert re.fullmatch(r"\[\d\.\d{3}, \d\.\d{3}\]", interval), interval


def test_known_limitations_are_a_list_on_screen_and_in_the_file(dev_experiment_card):
    section = next(s for s in dev_experiment_card.sections if s.title == "Known limitations")
    (items,) = [b for b in section.blocks if b.kind == "list"]
    assert len(items.rows) >= 4
    assert not [b for b in section.blocks if b.text.startswith("- ")]
    assert not any(row[0].startswith("- ") for row in items.rows)
    page = render_html(dev_experiment_card)
    assert page.count("<li>") >= len(items.rows) and "<p>- " not in page


def test_the_article_follows_the_word():
    assert cards.with_article("audio", capital=True) == "An audio"
    assert cards.with_article("face") == "a face"
    assert cards.with_article("text", capital=True) == "A text"
    assert cards.with_article("experiment") == "an experiment"
