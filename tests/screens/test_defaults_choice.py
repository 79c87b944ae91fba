"""Explain, Predict and Report offer an ordinary run first, and Report builds only when asked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.report import Card
from tests.screens.apptest import open_page


@pytest.fixture(scope="module")
def text_run(small_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real text run on ``small_corpus`` (fitted once, no epochs)."""
    from core.train import main

    run_dir = tmp_path_factory.mktemp("defaults") / "text"
    args = ["text", "--data", str(small_corpus), "--run-dir", str(run_dir), "--quiet"]
    assert main([*args, "--min-df", "2", "--seed", "0"]) == 0
    return run_dir


@pytest.fixture
def ordinary_and_search(text_run: Path, runs_root: Path) -> tuple[Path, Path]:
    """An ordinary run, and an experiment's search run that is newer with a lower loss."""
    ordinary = runs_root / "text-ordinary"
    shutil.copytree(text_run, ordinary)
    search = runs_root / "experiments" / "sweep" / "runs" / "c000-s0"
    shutil.copytree(text_run, search)
    config = json.loads((search / "config.json").read_text())
    config["experiment"] = {"name": "sweep", "configuration": "c000", "seed": 0}
    config["experiment"] |= {"fold": None, "threads": 1, "role": "search"}
    (search / "config.json").write_text(json.dumps(config))
    records = [json.loads(line) for line in (search / "metrics.jsonl").read_text().splitlines()]
    for record in records:
        record["val_loss"] = record["val_loss"] / 2  # the lower loss: ranked first so far
    (search / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    status = json.loads((search / "status.json").read_text())
    status["started"] += 100.0  # and the newer run
    (search / "status.json").write_text(json.dumps(status))
    return ordinary, search


def test_explain_offers_the_ordinary_run_first(small_corpus, ordinary_and_search):
    ordinary, _ = ordinary_and_search
    at = open_page("explain", small_corpus, explain_modality="text")
    box = at.selectbox(key="explain_text_run")
    assert box.value == str(ordinary)
    assert len(box.options) == 2  # the search run is still offered, after it


def test_predict_offers_the_ordinary_run_first(small_corpus, ordinary_and_search):
    ordinary, _ = ordinary_and_search
    at = open_page("predict", small_corpus)
    assert at.selectbox(key="predict_text_run").value == str(ordinary)


def test_report_offers_the_ordinary_run_and_builds_only_on_the_button(
    small_corpus, ordinary_and_search, monkeypatch
):
    import ui.report_cache

    ordinary, _ = ordinary_and_search
    built = []

    def build_card(path, options):
        built.append(Path(path))
        card = Card(f"Model card: {Path(path).name}", "quick")
        card.section("Intended use").text("research")
        return card

    monkeypatch.setattr(ui.report_cache, "build_card", build_card)
    at = open_page("report", small_corpus)
    assert at.selectbox(key="report_target").value == str(ordinary)
    assert built == [] and not at.get("download_button")  # nothing built on opening
    at.button(key="report_build").click().run()
    assert not at.exception, at.exception
    assert built == [ordinary]
    assert at.get("download_button")
    at.run()  # a rerun shows the same card, not built again
    assert built == [ordinary] and at.get("download_button")
