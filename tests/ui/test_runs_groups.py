import numpy as np
import pytest

from core.config import make_config
from core.evaluation.compare import paired_bootstrap, plain_sentence
from core.evaluation.metrics import participant_metrics
from core.evaluation.pooling import LabelConflict, ScoredRun, pool_seeds
from core.run_groups import configuration, group_row, group_runs
from ui.experiment_compare import comparison
from ui.runs_figures import band_overlay
from ui.runs_tables import mean_band


def _config(hidden=32, seed=0, dev=None, lr=1e-3):
    assignment = {"train": [1, 2], "dev": dev} if dev else None
    values = {"hidden_size": hidden, "lr": lr}
    return make_config("audio", "/corpus", values, seed=seed, assignment=assignment)


def test_configuration_leaves_out_seed_fold_and_experiment():
    config = _config(seed=3, dev=[7, 8]) | {"experiment": {"name": "x", "trial": 2}}
    kept = configuration(config)
    assert "seed" not in kept and "experiment" not in kept and "version" not in kept
    assert kept["data"] == {"root": config["data"]["root"]}
    assert kept["model"]["hidden_size"] == 32
    assert "assignment" in config["data"]  # the run's own configuration is left alone


def test_runs_are_grouped_by_what_differs_ignoring_seed_and_fold():
    configs = {
        "r1": _config(32, seed=0),
        "r2": _config(32, seed=1),
        "r3": _config(64, seed=0, dev=[1, 2]),
        "r4": _config(64, seed=0, dev=[3, 4]),
        "r5": _config(64, seed=1, dev=[1, 2], lr=1e-2),
        "t1": make_config("text", "/corpus"),
    }
    groups = group_runs(configs)
    assert groups == {
        "audio · hidden_size=32, lr=0.001": ["r1", "r2"],
        "audio · hidden_size=64, lr=0.001": ["r3", "r4"],
        "audio · hidden_size=64, lr=0.01": ["r5"],
        "text": ["t1"],
    }
    one = group_runs({"a": _config(seed=0), "b": _config(seed=5)})
    assert one == {"audio": ["a", "b"]}


def test_pooling_joins_folds_within_a_seed_and_keeps_what_every_seed_scored():
    seed0_fold_a = [{"id": 1, "label": 1, "prob": 0.8}, {"id": 2, "label": 0, "prob": 0.4}]
    seed0_fold_b = [{"id": 3, "label": 0, "prob": 0.1}]
    seed1_fold_a = [{"id": 1, "label": 1, "prob": 0.6}, {"id": 2, "label": 0, "prob": 0.2}]
    seed1_fold_b = [{"id": 3, "label": 0, "prob": 0.3}, {"id": 4, "label": 1, "prob": 0.9}]
    runs = [
        ScoredRun("s0a", 0, seed0_fold_a),
        ScoredRun("s0b", 0, seed0_fold_b),
        ScoredRun("s1a", 1, seed1_fold_a),
        ScoredRun("s1b", 1, seed1_fold_b),
    ]
    pool = pool_seeds(runs)
    assert pool.ids == [1, 2, 3] and pool.left_out == [4]  # seed 0 never scored 4
    assert pool.labels.tolist() == [1, 0, 0]
    np.testing.assert_allclose(pool.probs, [[0.8, 0.4, 0.1], [0.6, 0.2, 0.3]])
    np.testing.assert_allclose([p["prob"] for p in pool.ensemble()], [0.7, 0.3, 0.2])
    conflict = [
        ScoredRun("s0a", 0, seed0_fold_a),
        ScoredRun("odd", 1, [dict(id=2, label=1, prob=0.5)]),
    ]
    with pytest.raises(
        LabelConflict, match=r"participant 2 has label 0 in run s0a and label 1 in run odd"
    ):
        pool_seeds(conflict)
    assert pool_seeds([]).ids == []


def test_group_row_scores_the_mean_over_seeds_and_names_the_ensemble_apart():
    # The old row gave the seed-averaged predictions' macro-F1 and AUROC as the group's
    # figure; the group's figure is now its mean over seeds, as an experiment's.
    y = [1, 1, 0, 0, 0, 1]
    seed0 = [0.9, 0.4, 0.6, 0.2, 0.1, 0.7]
    seed1 = [0.7, 0.8, 0.2, 0.6, 0.3, 0.3]
    runs = [
        ScoredRun(f"r{s}", s, [{"id": i, "label": y[i], "prob": p[i]} for i in range(6)])
        for s, p in ((0, seed0), (1, seed1))
    ]
    row = group_row("g", runs, n_boot=50)
    mean = (np.array(seed0) + np.array(seed1)) / 2
    per_seed = [participant_metrics(y, p)["macro_f1"] for p in (seed0, seed1)]
    per_seed_auroc = [participant_metrics(y, p)["auroc"] for p in (seed0, seed1)]
    assert row["macro_f1"] == pytest.approx(np.mean(per_seed))
    assert row["auroc"] == pytest.approx(np.mean(per_seed_auroc))
    assert row["ensemble_macro_f1"] == pytest.approx(participant_metrics(y, mean)["macro_f1"])
    assert row["macro_f1_seed_sd"] == pytest.approx(np.std(per_seed, ddof=1))
    assert (row["runs"], row["seeds"], row["participants"], row["depressed"]) == (2, "0, 1", 6, 3)
    assert row["macro_f1_lo"] <= row["macro_f1"] <= row["macro_f1_hi"]
    assert row["always_depressed_macro_f1"] == pytest.approx(1 / 3)


def test_mean_band_over_runs_of_different_lengths():
    a = [{"epoch": 1, "val_loss": 1.0}, {"epoch": 2, "val_loss": 0.8}]
    b = [{"epoch": e, "val_loss": v} for e, v in ((1, 0.6), (2, 0.4), (3, 0.3))]
    band = mean_band([a, b])
    assert band["epoch"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(band["mean"], [0.8, 0.6, 0.3])
    np.testing.assert_allclose(band["sd"], [np.std([1.0, 0.6], ddof=1)] * 2 + [0.0])
    assert band["runs"].tolist() == [2, 2, 1]
    figure = band_overlay({"g": band})
    assert [t.name for t in figure.data] == ["g · band", "g"]
    sd = np.std([1.0, 0.6], ddof=1)  # upper edge forwards, then the lower edge back
    expected = [0.8 + sd, 0.6 + sd, 0.3, 0.3, 0.6 - sd, 0.8 - sd]
    assert list(figure.data[0].y) == pytest.approx(expected)
    assert mean_band([[{"epoch": 1}]]).empty


def test_comparison_pairs_on_common_participants():
    rows_a = [{"id": i, "label": int(i < 4), "prob": 0.9 if i < 4 else 0.1} for i in range(10)]
    rows_b = [{"id": i, "label": int(i < 4), "prob": 0.5 + 0.04 * i} for i in range(2, 12)]
    result = comparison(rows_a, rows_b, "good", "bad", "macro_f1", n_boot=300)
    assert result["n"] == 8 and result["left_out"] == 4
    y = [1, 1, 0, 0, 0, 0, 0, 0]
    p_a = [0.9, 0.9] + [0.1] * 6
    p_b = [0.5 + 0.04 * i for i in range(2, 10)]
    expected = paired_bootstrap(y, p_a, p_b, n_boot=300)
    assert result["bootstrap"] == expected
    assert result["sentence"] == plain_sentence(expected, "good", "bad")
    assert result["table"]["test"].tolist() == ["paired bootstrap, macro-F1", "DeLong, AUROC"]
    assert result["table"]["A − B"].tolist() == pytest.approx(
        [expected["difference"], 1.0 - participant_metrics(y, p_b)["auroc"]]
    )
    auroc = comparison(rows_a, rows_b, "good", "bad", "auroc", n_boot=100)
    assert "DeLong's test: z = " in auroc["sentence"]
    with pytest.raises(ValueError, match="share no participant"):
        comparison(rows_a[:2], rows_b[-2:], "a", "b")
