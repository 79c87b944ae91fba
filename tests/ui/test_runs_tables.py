import pandas as pd

from core.runs_table import run_row_columns
from ui.runs_tables import no_test_labels_caption, shown_table


def _table(evaluations):
    rows = [dict.fromkeys(run_row_columns()) for _ in evaluations]
    for i, (row, evaluation) in enumerate(zip(rows, evaluations, strict=True)):
        row.update(run=f"run-{i}", epochs=1, max_epochs=1, evaluation=evaluation, path="/x")
        row.update(macro_f1=0.5, macro_f1_lo=0.2, macro_f1_hi=0.7, test_macro_f1=0.4)
    return pd.DataFrame(rows)


def test_each_test_metric_stands_beside_its_dev_metric():
    columns = list(shown_table(_table(["dev; test"])).columns)
    start = columns.index("macro_f1")
    assert columns[start : start + 4] == [
        "macro_f1",
        "macro_f1_ci",
        "test_macro_f1",
        "test_macro_f1_ci",
    ]
    assert columns.index("evaluation") < start
    assert "path" not in columns and "max_epochs" not in columns
    assert shown_table(_table(["dev; test"]))["macro_f1_ci"].tolist() == ["[0.20, 0.70]"]


def test_runs_without_test_labels_are_counted_plainly():
    assert no_test_labels_caption(_table(["dev; test", "not evaluated"])) is None
    caption = no_test_labels_caption(_table(["dev; test: no labels", "dev; test: no labels"]))
    assert caption.startswith("**No test figures for 2 runs:**")
    assert "full_test_split.csv" in caption


def test_roc_curves_only_for_splits_with_both_classes_and_the_counts_sentence():
    from ui.runs_tables import participant_counts, roc_curves

    def report(labels, n_depressed):
        probs = [0.2, 0.6, 0.8][: len(labels)]
        participants = [{"label": y, "prob": p} for y, p in zip(labels, probs, strict=True)]
        metrics = {"n": len(labels), "n_depressed": n_depressed, "auroc": 0.75}
        return {"participants": participants, "metrics": metrics}

    reports = {"dev": report([0, 1, 1], 2), "test": report([0, 0], 0)}
    assert roc_curves(reports) == {"dev": ([0, 1, 1], [0.2, 0.6, 0.8], 0.75)}
    assert participant_counts(reports) == (
        "3 dev participants (2 depressed), 2 test participants (0 depressed)"
    )
