"""The Runs page through AppTest: hand-made run folders, and one real tiny text run."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

import core.evaluate
import core.evaluation.metrics
from core.config import make_config
from core.evaluation.metrics import BASELINE_NAMES
from core.runs import folder
from core.runs_table import EVALUATION_FILE, NOT_EVALUATED, runs_table, table_csv
from ui.common import FOLDER_LABEL
from ui.runs_figures import confusion_heatmap, ema, loss_overlay, roc_figure

APP = Path(__file__).resolve().parents[2] / "app.py"


def make_run(root, name, modality="audio", state="completed", epochs=0, owner=False):
    """A hand-made run folder (no training): configuration, status, ``epochs`` records."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    folder.write_json_atomic(run_dir / folder.CONFIG, make_config(modality, "/corpus"))
    folder.write_status(run_dir, state, f"{state} on purpose", owner=owner)
    for epoch in range(1, epochs + 1):
        folder.append_metrics(
            run_dir,
            {
                "epoch": epoch,
                "train_loss": 1.0 / epoch,
                "val_loss": 0.5 + 0.5 / epoch,
                "lr": 1e-3,
                "val_macro_f1": 0.5,
                "val_f1_depressed": 0.4,
                "val_f1_not_depressed": 0.6,
                "val_auroc": 0.7,
                "val_n": 10,
                "val_n_depressed": 3,
            },
        )
    return run_dir


def open_runs_page(corpus_root: Path) -> AppTest:
    """app.py with a corpus folder chosen in the sidebar, switched to the Runs page."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["data_source"] = FOLDER_LABEL
    at.session_state["data_folder"] = str(corpus_root)
    at.switch_page("screens/runs.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Runs"
    return at


def shown(at: AppTest) -> pd.DataFrame:
    (table,) = [d.value for d in at.dataframe if "run" in d.value.columns]
    return table


def scores(at: AppTest) -> pd.DataFrame:
    """The one-run scores table (split, scored by, metrics)."""
    (table,) = [d.value for d in at.dataframe if "scored by" in d.value.columns]
    return table


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


@pytest.fixture
def no_scoring(monkeypatch):
    """Fail the test if anything evaluates a run."""

    def evaluate_run(*args, **kwargs):
        raise AssertionError("the Runs page evaluated a run on a visit")

    monkeypatch.setattr(core.evaluate, "evaluate_run", evaluate_run)


def select(at: AppTest, rows: list[int]) -> AppTest:
    at.session_state["runs_table"] = {"selection": {"rows": rows, "columns": []}}
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def three_runs(runs_root: Path) -> Path:
    make_run(runs_root, "audio-done", epochs=4)
    make_run(runs_root, "face-running", modality="face", state="running", epochs=2, owner=True)
    make_run(runs_root, "audio-failed", state="failed")
    return runs_root


@pytest.fixture(scope="module")
def text_run(small_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real text run (a few seconds), the only run in its runs root."""
    from core.train import main

    run_dir = tmp_path_factory.mktemp("text-runs") / "text-real"
    args = ["text", "--data", str(small_corpus), "--run-dir", str(run_dir), "--min-df", "2"]
    assert main([*args, "--quiet"]) == 0
    return run_dir


def test_no_runs(small_corpus, runs_root):
    at = open_runs_page(small_corpus)
    assert "No runs yet" in at.info[0].value
    assert not at.dataframe and not at.get("download_button")


def test_finished_running_and_failed_runs_are_listed(small_corpus, three_runs):
    at = open_runs_page(small_corpus)
    table = shown(at).set_index("run")
    assert set(table.index) == {"audio-done", "face-running", "audio-failed"}
    assert table.loc["audio-done", "status"] == "completed"
    assert table.loc["face-running", "status"] == "running"
    assert table.loc["audio-failed", "status"] == "failed"
    assert table.loc["audio-done", "epochs"] == "4/30"
    assert table.loc["audio-done", "best_val_loss"] == pytest.approx(0.625)
    assert table.loc["audio-done", "macro_f1"] == 0.5
    assert table.loc["audio-done", "macro_f1_ci"] == ""  # no saved model to bootstrap
    assert table.loc["face-running", "evaluation"] == "after the run ends"
    assert "path" not in table.columns
    captions = " ".join(c.value for c in at.caption)
    assert "same 10 dev participants (3 depressed)" in captions
    assert "always 'depressed' 0.231" in captions
    assert "always 'not depressed' 0.412" in captions
    assert "per participant" in captions
    assert "Dev picks the checkpoint" in captions and "optimistic" in captions

    # nothing selected: no curves; every run can be inspected
    assert not at.get("plotly_chart") and not at.slider
    at.selectbox(key="runs_inspect").set_value("face-running").run()
    assert any("still running" in i.value for i in at.info)

    rows = [shown(at)["run"].tolist().index(n) for n in ("audio-done", "face-running")]
    at = select(at, rows)
    assert at.selectbox(key="runs_inspect").options == ["audio-done", "face-running"]
    (curves,) = at.get("plotly_chart")
    at.slider(key="runs_smoothing").set_value(0.5).run()
    assert not at.exception and len(at.get("plotly_chart")) == 1


def test_csv_export_is_the_runs_table(small_corpus, three_runs, monkeypatch):
    stored = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        stored[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    at = open_runs_page(small_corpus)
    assert at.get("download_button")[0].label == "Export table as CSV"
    data = stored["runs.csv"]
    assert data == table_csv(runs_table(three_runs))
    exported = pd.read_csv(io.BytesIO(data)).set_index("run")
    assert set(exported.index) == {"audio-done", "face-running", "audio-failed"}
    assert {"macro_f1_lo", "macro_f1_hi", "always_depressed_macro_f1", "hidden_size"} <= set(
        exported.columns
    )


def test_deleting_a_run_needs_confirmation(small_corpus, three_runs):
    at = open_runs_page(small_corpus)
    at.selectbox(key="runs_inspect").set_value("audio-failed").run()
    at.button(key="runs_delete").click().run()
    assert (three_runs / "audio-failed").is_dir()  # asked, not deleted
    at.button(key="runs_delete_cancel").click().run()
    assert (three_runs / "audio-failed").is_dir()
    assert not [b for b in at.button if b.key == "runs_delete_confirm"]

    at.button(key="runs_delete").click().run()
    at.button(key="runs_delete_confirm").click().run()
    assert not at.exception, at.exception
    assert not (three_runs / "audio-failed").exists()
    assert "Deleted run audio-failed" in at.success[0].value
    assert "audio-failed" not in shown(at)["run"].tolist()
    assert not [b for b in at.button if b.key == "runs_delete_confirm"]


def test_dev_and_test_of_a_real_run_with_intervals_and_baselines(
    small_corpus, text_run, monkeypatch, no_scoring
):
    monkeypatch.setenv("DAIC_RUNS_ROOT", str(text_run.parent))
    mtime = (text_run / EVALUATION_FILE).stat().st_mtime_ns  # written when the run ended
    saved = folder.read_json(text_run / EVALUATION_FILE)
    dev, test = (saved["splits"][s]["report"] for s in ("dev", "test"))
    at = open_runs_page(small_corpus)
    (row,) = shown(at).to_dict("records")
    for prefix, report in (("", dev), ("test_", test)):
        lo, hi = report["intervals"]["macro_f1"]
        assert row[f"{prefix}macro_f1_ci"] == f"[{lo:.2f}, {hi:.2f}]"
        assert row[f"{prefix}macro_f1"] == pytest.approx(report["metrics"]["macro_f1"])
        lo, hi = report["intervals"]["auroc"]
        assert row[f"{prefix}auroc_ci"] == f"[{lo:.2f}, {hi:.2f}]"
        for name in BASELINE_NAMES:
            value = report["baselines"][name]["macro_f1"]
            assert row[f"{prefix}{name}_macro_f1"] == pytest.approx(value)
    assert row["evaluation"] == "dev; test"
    captions = " ".join(c.value for c in at.caption)
    assert f"same {test['metrics']['n']} test participants" in captions
    assert "Dev picks the checkpoint" in captions

    at = select(at, [0])
    table = scores(at)
    assert table["split"].tolist() == ["dev"] * 3 + ["test"] * 3
    assert table["scored by"].tolist() == ["model", *BASELINE_NAMES.values()] * 2
    for split, report in (("dev", dev), ("test", test)):
        model = table[(table["split"] == split) & (table["scored by"] == "model")].iloc[0]
        assert model["macro-F1"] == pytest.approx(report["metrics"]["macro_f1"])
        assert model["macro-F1 CI"] == "[{:.2f}, {:.2f}]".format(*report["intervals"]["macro_f1"])
        assert model["AUROC CI"] == "[{:.2f}, {:.2f}]".format(*report["intervals"]["auroc"])
    specs = chart_specs(at)
    titles = [spec["layout"]["title"]["text"] for spec in specs]
    assert titles[1:] == ["Confusion matrix, dev", "Confusion matrix, test", "ROC curves"]
    roc_names = [trace["name"] for trace in specs[3]["data"]]
    assert [n.split(" ")[0] for n in roc_names[1:]] == ["dev", "test"]
    caption = next(c.value for c in at.caption if c.value.startswith("Participant level"))
    assert "one document of each participant's words" in caption
    assert "window" not in caption  # a text run has no windows
    assert "Dev picked the checkpoint" in caption
    at.run()
    assert (text_run / EVALUATION_FILE).stat().st_mtime_ns == mtime  # never scored on a visit


def test_a_run_without_an_evaluation_is_evaluated_only_on_request(
    small_corpus, text_run, runs_root, monkeypatch
):
    old = runs_root / "text-old"
    shutil.copytree(text_run, old)
    (old / EVALUATION_FILE).unlink()  # as a run finished by an older version
    folder.write_status(old, "completed", "fitted", owner=False)  # its process is long gone
    calls = []
    evaluate_run = core.evaluate.evaluate_run

    def counting(run_dir, split, n_boot=1000):
        calls.append(split)
        return evaluate_run(run_dir, split, n_boot)

    monkeypatch.setattr(core.evaluate, "evaluate_run", counting)
    at = open_runs_page(small_corpus)
    at.run()
    assert calls == [] and not (old / EVALUATION_FILE).exists()
    (row,) = shown(at).to_dict("records")
    assert row["evaluation"] == NOT_EVALUATED and row["macro_f1_ci"] == ""
    assert any("no saved evaluation" in i.value for i in at.info)

    at.button(key="runs_evaluate_one").click().run()
    assert not at.exception, at.exception
    assert calls == ["dev", "test"]
    assert (old / EVALUATION_FILE).exists()
    (row,) = shown(at).to_dict("records")
    assert row["evaluation"] == "dev; test" and row["test_macro_f1_ci"]


def test_a_corpus_without_test_labels_is_named_plainly(small_corpus, runs_root, monkeypatch):
    run_dir = make_run(runs_root, "audio-done", epochs=2)
    (run_dir / folder.BEST).write_bytes(b"weights")
    why = (
        "no test labels: full_test_split.csv is not in /corpus, so only the dev split can be scored"
    )
    monkeypatch.setattr(core.evaluate, "missing_test_labels", lambda config: why)
    monkeypatch.setattr(
        core.evaluate, "evaluate_run", lambda run_dir, split, n_boot: fake_dev_report()
    )
    core.evaluate.evaluate_and_save(run_dir)
    at = open_runs_page(small_corpus)
    captions = " ".join(c.value for c in at.caption)
    assert "No test figures for 1 run" in captions and "full_test_split.csv" in captions
    (row,) = shown(at).to_dict("records")
    assert row["evaluation"] == "dev; test: no labels" and pd.isna(row["test_macro_f1"])
    assert any(why in w.value for w in at.warning)
    assert scores(at)["split"].tolist() == ["dev"] * 3


def fake_dev_report() -> dict:
    """A dev report of 4 participants (1 depressed), as core.evaluate.evaluate_run gives."""
    from core.evaluation.metrics import evaluate

    return evaluate([1, 2, 3, 4], [0.9, 0.2, 0.6, 0.1], [1, 0, 0, 0], n_boot=20)


def test_twenty_runs_are_listed_and_three_overlaid(small_corpus, runs_root):
    for i in range(20):
        make_run(runs_root, f"audio-{i:02d}", epochs=30)
    at = open_runs_page(small_corpus)
    at = select(at, [0, 1, 2])
    at.run()
    assert not at.exception
    assert len(shown(at)) == 20 and len(at.get("plotly_chart")) == 1


def test_ema_smooths_with_bias_correction_and_skips_gaps():
    assert ema([1.0, 2.0, None, 3.0], 0.0) == [1.0, 2.0, None, 3.0]
    smoothed = ema([1.0, 3.0, float("nan"), 3.0], 0.5)
    assert smoothed[0] == 1.0  # bias-corrected: the first value is kept
    assert smoothed[1] == pytest.approx((0.25 + 1.5) / 0.75)
    assert smoothed[2] is None
    with pytest.raises(ValueError):
        ema([1.0], 1.0)


def test_ema_equals_the_bias_corrected_recursion_over_gaps():
    rng = np.random.default_rng(0)
    values: list[float | None] = list(rng.normal(size=60) * 10)
    for i in (0, 7, 8, 30, 59):
        values[i] = None
    for weight in (0.0, 0.5, 0.9, 0.99):
        expected: list[float | None] = []
        running, steps = 0.0, 0
        for value in values:
            if value is None:
                expected.append(None)
                continue
            steps += 1
            running = weight * running + (1.0 - weight) * value
            expected.append(running / (1.0 - weight**steps))
        got = ema(values, weight)
        assert [g is None for g in got] == [e is None for e in expected]
        kept = [(g, e) for g, e in zip(got, expected, strict=True) if e is not None]
        np.testing.assert_allclose(*zip(*kept, strict=True), rtol=1e-12)


def test_figures_of_the_runs_page():
    records = [{"epoch": e, "train_loss": 1 / e, "val_loss": 0.5 + 0.5 / e} for e in (1, 2, 3)]
    overlay = loss_overlay({"a": records, "b": records[:1]}, smoothing=0.3)
    assert [t.name for t in overlay.data] == ["a · val", "a · train", "b · val", "b · train"]
    assert overlay.data[0].line.color != overlay.data[2].line.color
    assert overlay.data[1].line.dash == "dash" and "EMA 0.30" in overlay.layout.title.text

    heatmap = confusion_heatmap([[5, 2], [1, 3]], "Confusion")
    assert heatmap.data[0].z.tolist() == [[5, 2], [1, 3]]
    assert list(heatmap.data[0].y) == ["true not depressed", "true depressed"]

    roc = roc_figure(
        {"dev": ([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], 0.75), "test": ([0, 1], [0.3, 0.7], None)},
        "ROC",
    )
    curve = roc.data[1]
    assert (curve.x[0], curve.y[0], curve.x[-1], curve.y[-1]) == (0, 0, 1, 1)
    assert curve.name == "dev (AUROC 0.750)" and roc.data[2].name == "test"
    with pytest.raises(ValueError, match="both classes"):
        roc_figure({"test": ([1, 1], [0.2, 0.8], None)}, "ROC")


def test_a_failed_run_shows_its_reason_and_the_end_of_its_log(small_corpus, three_runs):
    (three_runs / "audio-failed" / folder.PROCESS_LOG).write_text(
        "Traceback (most recent call last):\nDataError: 312_COVAREP.csv: 73 columns\n"
    )
    at = open_runs_page(small_corpus)
    at.selectbox(key="runs_inspect").set_value("audio-failed").run()
    assert any("failed: failed on purpose" in c.value for c in at.caption)
    assert any("DataError: 312_COVAREP.csv" in c.value for c in at.code)


# Ten dev participants, 1-4 depressed. hidden_size 64 scores well, 32 poorly; 32 has two
# seeds on the official dev split, 64 one seed over two folds (participants 1-5, 6-10).
LABELS_BY_ID = {i: int(i <= 4) for i in range(1, 11)}
GOOD = {i: 0.8 if LABELS_BY_ID[i] else 0.3 for i in LABELS_BY_ID}
POOR = {i: 0.4 + 0.03 * i for i in LABELS_BY_ID}


def make_scored_run(root, name, hidden, seed, probs, dev=None):
    """A hand-made audio run whose saved dev report scores ``probs`` (no test labels)."""
    run_dir = make_run(root, name, epochs=3)
    assignment = {"train": [11, 12], "dev": dev} if dev else None
    config = make_config("audio", "/corpus", {"hidden_size": hidden}, seed, assignment=assignment)
    folder.write_json_atomic(run_dir / folder.CONFIG, config)
    (run_dir / folder.BEST).write_bytes(b"weights")
    ids = dev or sorted(probs)
    report = core.evaluation.metrics.evaluate(
        ids, [probs[i] for i in ids], [LABELS_BY_ID[i] for i in ids], n_boot=20
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(core.evaluate, "missing_test_labels", lambda config: "no test labels")
        patch.setattr(core.evaluate, "evaluate_run", lambda run_dir, split, n_boot: report)
        core.evaluate.evaluate_and_save(run_dir)
    return run_dir


@pytest.fixture
def grouped_runs(runs_root):
    make_scored_run(runs_root, "h32-s0", 32, 0, POOR)
    make_scored_run(runs_root, "h32-s1", 32, 1, {i: p + 0.02 for i, p in POOR.items()})
    make_scored_run(runs_root, "h64-f1", 64, 0, GOOD, dev=[1, 2, 3, 6, 7])
    make_scored_run(runs_root, "h64-f2", 64, 0, GOOD, dev=[4, 5, 8, 9, 10])
    return runs_root


def test_runs_are_grouped_by_configuration_with_bands_and_intervals(small_corpus, grouped_runs):
    at = open_runs_page(small_corpus)
    assert not [d for d in at.dataframe if "group" in d.value.columns]
    at.toggle(key="runs_group").set_value(True).run()
    assert not at.exception, at.exception
    (groups,) = [d.value for d in at.dataframe if "group" in d.value.columns]
    groups = groups.set_index("group")
    assert groups.index.tolist() == ["audio · hidden_size=32", "audio · hidden_size=64"]
    assert groups["runs"].tolist() == [2, 2] and groups["seeds"].tolist() == ["0, 1", "0"]
    assert groups["participants"].tolist() == [10, 10]  # the two folds pooled
    # A group's figure is its mean over seeds, as an experiment configuration's (it was
    # the seed-averaged predictions' figure, a different estimand).
    y = list(LABELS_BY_ID.values())
    per_seed = [
        core.evaluation.metrics.participant_metrics(y, [POOR[i] + shift for i in range(1, 11)])
        for shift in (0.0, 0.02)
    ]
    for metric in ("auroc", "macro_f1"):
        expected = np.mean([m[metric] for m in per_seed])
        assert groups.loc["audio · hidden_size=32", metric] == pytest.approx(expected)
    assert groups.loc["audio · hidden_size=64", "macro_f1"] == 1.0
    assert groups.loc["audio · hidden_size=32", "macro_f1_ci"].startswith("[")
    (band,) = [s for s in chart_specs(at) if "band" in s["layout"]["title"]["text"]]
    assert [t["name"] for t in band["data"] if t.get("showlegend") is not False] == list(
        groups.index
    )


def test_two_groups_are_compared_on_their_common_participants(small_corpus, grouped_runs):
    from core.evaluation.compare import plain_sentence
    from core.evaluation.pooling import ScoredRun, paired_estimand, pool_seeds

    at = open_runs_page(small_corpus)
    at.toggle(key="runs_compare").set_value(True).run()
    good, poor = "group: audio · hidden_size=64", "group: audio · hidden_size=32"
    assert {good, poor, "h32-s0", "h64-f1"} <= set(at.selectbox(key="runs_compare_a").options)
    at.selectbox(key="runs_compare_a").set_value(good)
    at.selectbox(key="runs_compare_b").set_value(poor).run()
    assert not at.exception, at.exception
    # Groups are compared on their means over seeds (one paired bootstrap for every seed
    # of both); it was their seed-averaged predictions. DeLong stays for two single runs.
    rows = [
        [{"id": i, "label": LABELS_BY_ID[i], "prob": probs[i]} for i in range(1, 11)]
        for probs in (GOOD, POOR, {i: p + 0.02 for i, p in POOR.items()})
    ]
    pool_good = pool_seeds([ScoredRun("h64", 0, rows[0])])
    pool_poor = pool_seeds([ScoredRun("s0", 0, rows[1]), ScoredRun("s1", 1, rows[2])])
    expected = paired_estimand(pool_good, pool_poor, "macro_f1", n_boot=2000)
    assert expected["difference"] > 0
    assert any(t.value.startswith(plain_sentence(expected, good, poor)) for t in at.text)
    (table,) = [d.value for d in at.dataframe if "test" in d.value.columns]
    assert table["test"].tolist() == ["paired bootstrap, macro-F1"]
    assert any("Paired over the 10 dev participants" in c.value for c in at.caption)

    # two folds of one run share no participant: said plainly, nothing computed
    at.selectbox(key="runs_compare_a").set_value("h64-f1")
    at.selectbox(key="runs_compare_b").set_value("h64-f2").run()
    assert any("cannot be compared" in w.value for w in at.warning)
    assert any("share no participant" in t.value for t in at.text)
