"""The words and numbers the pages show: no raw None, clear sentences, rounded ticks."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from core.config import make_config
from core.runs import folder
from core.runs_table import run_row_columns
from tests.screens.apptest import open_page
from ui.experiment_figures import parallel_coordinates
from ui.runs_tables import LABELS, baseline_caption, shown_table

LONG_REASON = "RuntimeError: " + "a very long reason that goes on and on " * 8


def _table(rows: list[dict]) -> pd.DataFrame:
    table = [dict.fromkeys(run_row_columns()) for _ in rows]
    for i, (row, values) in enumerate(zip(table, rows, strict=True)):
        row.update(run=f"run-{i}", epochs=1, max_epochs=1, evaluation="dev", path="/x")
        row.update(values)
    return pd.DataFrame(table)


def test_every_table_shows_a_dash_for_a_missing_value(small_corpus: Path, tmp_path, monkeypatch):
    monkeypatch.setenv("DAIC_RUNS_ROOT", str(tmp_path))
    run_dir = tmp_path / "audio-failed"
    run_dir.mkdir()
    folder.write_config(run_dir, make_config("audio", str(small_corpus)))
    folder.write_status(run_dir, "failed", LONG_REASON, owner=False)
    at = open_page("runs", small_corpus)
    (table,) = [d for d in at.dataframe if "reason" in d.value.columns]
    assert table.value.isna().any().any()  # the run has no figures: missing values
    assert [d.proto.placeholder for d in at.dataframe] == ["-"] * len(at.dataframe)
    assert json.loads(table.proto.columns)["reason"]["width"] == "medium"
    at = open_page("data", small_corpus)
    assert at.dataframe and all(d.proto.placeholder == "-" for d in at.dataframe)


def test_a_long_reason_comes_after_every_figure():
    columns = list(shown_table(_table([{"reason": LONG_REASON, "macro_f1": 0.5}])).columns)
    figures = [c for c in columns if c.removeprefix("test_").removesuffix("_ci") in LABELS]
    assert figures and columns.index("reason") > max(columns.index(c) for c in figures)


def test_the_baseline_caption_is_a_clear_sentence():
    different = _table(
        [
            {"n_dev": 35, "n_dev_depressed": 12, "always_depressed_macro_f1": 0.2},
            {"n_dev": 30, "n_dev_depressed": 10, "always_depressed_macro_f1": 0.3},
        ]
    )
    caption = baseline_caption(different)
    assert caption.startswith("The runs were scored on different dev participants")
    assert "(macro-F1) runs" not in caption and caption.endswith(".")
    same = _table(
        [
            {"n_dev": 35, "n_dev_depressed": 12}
            | {"always_depressed_macro_f1": 0.2, "always_not_depressed_macro_f1": 0.4}
        ]
        * 2
    )
    assert baseline_caption(same) == (
        "Trivial baselines on the same 35 dev participants (12 depressed), macro-F1: "
        "always 'depressed' 0.200, always 'not depressed' 0.400."
    )


def test_parallel_coordinates_ticks_are_rounded():
    configurations = [
        {"params": {"hidden_size": 8, "lr": 1e-4}, "mean": 0.611765},
        {"params": {"hidden_size": 16, "lr": 1e-2}, "mean": 0.5882352941},
    ]
    figure = parallel_coordinates(configurations, "macro_f1")
    dimensions = figure.data[0].dimensions
    assert [d.label for d in dimensions] == [
        "hidden_size",
        "log10 lr",
        "macro-F1 (mean over seeds)",
    ]
    assert {d.tickformat for d in dimensions} == {".3~r"}
    assert figure.data[0].line.colorbar.tickformat == ".3~r"
