"""The shared run-history figures: pure functions of epoch records."""

from __future__ import annotations

import pandas as pd

from ui import charts


def records(n: int = 6, lr_drop_every: int = 3) -> list[dict]:
    return [
        {
            "epoch": e,
            "train_loss": 1.0 / e,
            "val_loss": abs(e - 4) + 0.5,  # best at epoch 4
            "lr": 1e-3 * 0.5 ** ((e - 1) // lr_drop_every),
            "val_macro_f1": 0.1 * e,
            "val_auroc": 0.5,
            "val_confusion_matrix": [[1, 0], [0, 1]],
        }
        for e in range(n, 0, -1)  # out of order on purpose
    ]


def test_metrics_frame_sorts_by_epoch_and_drops_list_fields() -> None:
    frame = charts.metrics_frame(records())
    assert frame["epoch"].tolist() == [1, 2, 3, 4, 5, 6]
    assert "val_confusion_matrix" not in frame
    assert charts.metrics_frame([]).empty


def test_loss_figure_marks_the_best_validation_epoch() -> None:
    figure = charts.loss_figure(records())
    names = [trace.name for trace in figure.data]
    assert names == ["train", "validation", "best (epoch 4)"]
    assert list(figure.data[2].x) == [4]


def test_lr_figure_is_log_scaled_and_ticked_at_the_rates_used() -> None:
    figure = charts.lr_figure(records())
    assert figure.layout.yaxis.type == "log"
    assert list(figure.layout.yaxis.tickvals) == [5e-4, 1e-3]
    many = charts.lr_figure(records(n=12, lr_drop_every=1))  # too many levels: decades
    assert many.layout.yaxis.tickvals is None and many.layout.yaxis.dtick == 1


def test_text_runs_have_no_learning_rate_curve() -> None:
    text = [{"epoch": 1, "train_loss": 0.6, "val_loss": 0.6, "lr": None, "val_auroc": 1.0}]
    assert charts.lr_figure(text).data == ()
    assert [t.name for t in charts.val_metrics_figure(text).data] == ["AUROC"]


def test_val_metrics_figure_draws_the_metrics_present_on_a_unit_axis() -> None:
    figure = charts.val_metrics_figure(pd.DataFrame(records()).sort_values("epoch"))
    assert [trace.name for trace in figure.data] == ["macro-F1", "AUROC"]
    assert figure.layout.yaxis.range == (-0.02, 1.02)


def test_overlay_figure_has_one_trace_per_run() -> None:
    figure = charts.overlay_figure({"a": records(), "b": records(3), "empty": []}, "lr")
    assert [trace.name for trace in figure.data] == ["a", "b"]
    assert figure.layout.yaxis.type == "log"


def test_learning_rates_are_labelled_so_that_neighbours_are_told_apart() -> None:
    halved = [{"epoch": e, "lr": 1e-3 * 0.5 ** (e - 1)} for e in range(1, 5)]  # to 1.25e-4
    figure = charts.lr_figure(halved)
    assert list(figure.layout.yaxis.ticktext) == ["1.25e-4", "2.5e-4", "5e-4", "1e-3"]
    assert charts.lr_label(3e-4) == "3e-4" != charts.lr_label(2.5e-4)
    # Many levels: decades, formatted by Plotly's d3-format. ".2~e" draws 2.5e-4 as
    # "2.5e−4" in Chromium, where the old ".0e" drew "3e−4".
    many = charts.lr_figure([{"epoch": e, "lr": 1e-3 * 0.9**e} for e in range(1, 12)])
    assert many.layout.yaxis.tickformat == many.layout.yaxis.hoverformat == ".2~e"
    overlay = charts.overlay_figure({"a": halved}, "lr")
    assert list(overlay.layout.yaxis.ticktext) == ["1.25e-4", "2.5e-4", "5e-4", "1e-3"]
