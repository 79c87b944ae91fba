"""An experiment's runs are runs: listed, named uniquely, and never a fusion's source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.config import make_config
from core.data import Corpus
from core.evaluation.folds import participant_folds
from core.kinds.choice import best_finished_run
from core.kinds.sources import resolve_sources
from core.runs import folder
from core.runs.status import list_runs
from core.runs_table import runs_table
from core.train import main


@pytest.fixture(scope="module")
def runs_root(small_corpus, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    corpus = Corpus(small_corpus)
    pool = corpus.ids("train", labelled=True) + corpus.ids("dev", labelled=True)
    fold = participant_folds(pool, corpus.labels(pool).tolist(), 2, seed=0)[0]
    config = make_config("text", small_corpus, {"min_df": 2}, assignment=fold)
    config["experiment"] = {"name": "one", "configuration": "c000", "seed": 0, "fold": 0}
    config["experiment"].update(threads=1, role="search")  # as the engine writes it
    config_file = root.parent / "fold.json"
    config_file.write_text(json.dumps(config))
    for name in ("one", "two"):  # two experiments, each with a run named c000-s0-f0
        run_dir = root / folder.EXPERIMENTS / name / "runs" / "c000-s0-f0"
        assert main(["--config", str(config_file), "--run-dir", str(run_dir), "--quiet"]) == 0
    assert main(["text", "--data", str(small_corpus), "--run-dir", str(root / "plain"),
                 "--min-df", "2", "--quiet"]) == 0  # fmt: skip
    (root / folder.EXPERIMENTS / "one" / "notes").mkdir()  # not a run: never listed
    return root


def test_an_experiments_runs_are_listed_with_names_unique_under_the_root(runs_root):
    names = sorted(info.as_dict()["name"] for info in list_runs(runs_root))
    assert names == ["one/c000-s0-f0", "plain", "two/c000-s0-f0"]
    table = runs_table(runs_root)
    assert sorted(table["run"]) == names
    assert table["run"].is_unique


def test_a_fold_run_is_never_a_fusions_source(runs_root, small_corpus):
    plain = (runs_root / "plain").resolve()
    assert best_finished_run(runs_root, "text", str(small_corpus)).resolve() == plain
    fold_run = runs_root / folder.EXPERIMENTS / "one" / "runs" / "c000-s0-f0"
    sources = {"text": str(fold_run)}
    for modality in ("audio", "face"):  # named sources are taken as they are
        sources[modality] = str(runs_root.parent / f"given-{modality}")
        Path(sources[modality]).mkdir(exist_ok=True)
        folder.write_config(sources[modality], make_config(modality, small_corpus))
    config = make_config("fusion", small_corpus, {}, sources=sources)
    with pytest.raises(ValueError, match="cross-validation fold"):
        resolve_sources(config, runs_root, train_run=None)


@pytest.mark.slow
def test_the_command_line_lists_the_runs_root_the_dashboard_uses(runs_root):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DAIC_RUNS_ROOT": str(runs_root)}
    listed = subprocess.run(
        [sys.executable, "-m", "core.runs", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    names = sorted(run["name"] for run in json.loads(listed.stdout))
    assert names == ["one/c000-s0-f0", "plain", "two/c000-s0-f0"]


def test_the_table_says_an_experiments_run_withholds_test_not_that_labels_are_missing(runs_root):
    from ui.runs_tables import no_test_labels_caption

    table = runs_table(runs_root).set_index("run")
    assert table.loc["one/c000-s0-f0", "evaluation"] == (
        "dev; test: withheld until the experiment is promoted"
    )
    assert table.loc["plain", "evaluation"] == "dev; test"
    assert no_test_labels_caption(table.reset_index()) is None
