"""The Train page through AppTest: hand-made run folders, and short real runs."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import hparams
from core.config import make_config
from core.runs import folder, manager
from core.runs.state import FINISHED
from tests.screens.apptest import fresh_train_session

APP = Path(__file__).resolve().parents[2] / "app.py"
LONG_AUDIO = {  # a tiny model with many epochs: it is still running when Stop is pressed
    "max_epochs": 500,
    "patience": 100,
    "hidden_size": 16,
    "batch_size": 4,
    "window_s": 2.0,
    "device": "cpu",
}


@pytest.fixture
def open_page(small_corpus: Path) -> Callable[[], AppTest]:
    """Open the Train page with the small corpus chosen in app.py's sidebar.

    The first run is app.py (its sidebar opens the corpus into session state); after
    ``switch_page`` AppTest runs the page script itself with that session state, as
    app.py does when it runs the chosen page.
    """

    def open_() -> AppTest:
        return fresh_train_session(small_corpus)

    return open_


def record(epoch: int) -> dict:
    return {
        "epoch": epoch,
        "train_loss": 0.8 - 0.05 * epoch,
        "val_loss": 0.7 - 0.01 * epoch,
        "lr": 1e-3 / 2 ** (epoch // 3),
        "best_val_loss": 0.7 - 0.01 * epoch,
        "best_epoch": epoch,
        "improved": True,
        "epochs_without_improvement": 0,
        "elapsed_s": 2.0,
        "val_macro_f1": 0.5,
        "val_auroc": 0.6,
        "val_f1_depressed": 0.4,
        "val_confusion_matrix": [[1, 2], [0, 1]],
    }


def make_run(
    root: Path,
    state: str,
    epochs: int,
    max_epochs: int,
    reason: str | None = None,
    owner: bool = False,
    age_s: float = 0.0,
    data_root: Path | None = None,
) -> Path:
    """A hand-made audio run folder (no training), ``age_s`` seconds old."""
    run_dir = folder.new_run_dir(root, "audio")
    config = make_config("audio", data_root, {"max_epochs": max_epochs, "patience": 5})
    folder.write_json_atomic(run_dir / folder.CONFIG, config)
    folder.rewrite_metrics(run_dir, [record(e) for e in range(1, epochs + 1)])
    folder.write_status(
        run_dir,
        state,
        reason,
        owner=owner,
        epoch=epochs,
        max_epochs=max_epochs,
        started=time.time() - age_s,
    )
    return run_dir


def wait_for(run_dir: Path, done: Callable[[dict], bool], timeout_s: float = 40.0) -> dict:
    deadline = time.monotonic() + timeout_s
    status = manager.read_status(run_dir)
    while not done(status):
        assert time.monotonic() < deadline, f"{run_dir.name} is still {status.get('state')}"
        time.sleep(0.1)
        status = manager.read_status(run_dir)
    return status


def finished(status: dict) -> bool:
    return status.get("state") in FINISHED


def chart_titles(at: AppTest) -> list[str]:
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return [spec["layout"]["title"]["text"] for spec in specs]


def progress_text(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


def widgets(at: AppTest) -> dict[str, object]:
    kinds = ("slider", "select_slider", "radio", "toggle", "multiselect")
    return {w.key: w for kind in kinds for w in getattr(at, kind)}


def test_renders_without_runs(runs_root: Path, open_page: Callable[[], AppTest]) -> None:
    at = open_page()
    assert any("No runs yet" in info.value for info in at.info)
    assert any("not a diagnostic device" in caption.value for caption in at.caption)
    assert not at.button(key="train_start").disabled


@pytest.mark.parametrize("modality", hparams.modalities())
def test_every_hyper_parameter_has_a_widget(
    runs_root: Path, open_page: Callable[[], AppTest], modality: str
) -> None:
    at = open_page()
    at.button_group(key="train_modality").set_value(modality).run()
    assert not at.exception
    shown = widgets(at)
    for h in hparams.for_modality(modality):
        widget = shown[f"train_{modality}_{h.name}"]
        default = h.default_for(modality)
        assert widget.value == (list(default) if h.kind == "multi" else default)
        if h.log:  # a select slider over log-spaced stops within the table's range
            stops = [float(option) for option in widget.options]
            assert stops[0] == h.low and stops[-1] == h.high and default in stops
        elif h.kind in ("int", "float"):
            assert (widget.min, widget.max) == (h.low, h.high)


def test_interviewer_text_is_flagged_shortcut_prone(
    runs_root: Path, open_page: Callable[[], AppTest]
) -> None:
    at = open_page()
    assert not any("shortcut-prone" in w.value for w in at.warning)
    at.radio(key="train_text_speakers").set_value("both").run()
    assert any("shortcut-prone" in w.value for w in at.warning)


def test_no_face_feature_set_cannot_start(
    runs_root: Path, open_page: Callable[[], AppTest]
) -> None:
    at = open_page()
    at.button_group(key="train_modality").set_value("face").run()
    at.multiselect(key="train_face_face_features").set_value([]).run()
    assert at.button(key="train_start").disabled
    assert any("facial feature sets" in e.value for e in at.error)


def test_finished_run_shows_its_curves(runs_root: Path, open_page: Callable[[], AppTest]) -> None:
    make_run(runs_root, "early-stopped", epochs=4, max_epochs=30, reason="no improvement")
    at = open_page()
    assert chart_titles(at) == ["Loss", "Learning rate", "Validation, per participant"]
    lr_spec = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert lr_spec["layout"]["yaxis"]["type"] == "log"
    assert progress_text(at) == "Epoch 4 of 30"
    assert any("no improvement" in s.value for s in at.success)
    assert "train_stop" not in [b.key for b in at.button]


def test_resume_offers_the_run_on_screen(runs_root: Path, open_page: Callable[[], AppTest]) -> None:
    older = make_run(runs_root, "stopped", epochs=2, max_epochs=30, age_s=60)
    newer = make_run(runs_root, "completed", epochs=3, max_epochs=3)
    at = open_page()
    assert at.selectbox(key="train_resume_run").value == str(newer)
    assert at.number_input(key=f"train_resume_more_{newer.name}").value == 10
    at.selectbox(key="train_watch").set_value(str(older)).run()
    assert progress_text(at) == "Epoch 2 of 30"
    assert at.selectbox(key="train_resume_run").value == str(older)
    assert at.number_input(key=f"train_resume_more_{older.name}").value == 28  # the rest
    assert at.number_input(key=f"train_resume_patience_{older.name}").value == 5


def test_resume_asks_for_more_epochs_and_a_patience_beyond_the_cap(
    runs_root: Path, open_page: Callable[[], AppTest], monkeypatch: pytest.MonkeyPatch
) -> None:
    long_run = make_run(runs_root, "early-stopped", epochs=495, max_epochs=500, reason="...")
    calls = []
    monkeypatch.setattr(manager, "resume_run", lambda *a, **k: calls.append((a, k)) or a[0])
    at = open_page()
    assert any("counter goes back to 0" in c.value for c in at.caption)
    at.number_input(key=f"train_resume_more_{long_run.name}").set_value(100)
    at.number_input(key=f"train_resume_patience_{long_run.name}").set_value(12)
    at.button(key="train_resume").click().run()
    assert not at.exception
    assert calls == [((long_run,), {"more_epochs": 100, "patience": 12})]  # to epoch 595


def test_an_early_stopped_run_says_why_once(runs_root: Path, open_page: Callable[[], AppTest]):
    from core.training.early_stopping import EarlyStoppingState, early_stopping_decision

    state = EarlyStoppingState(best=0.61, best_epoch=7, counter=4)
    _, stop, reason = early_stopping_decision(state, 12, 0.7, patience=5)
    assert stop
    make_run(runs_root, "early-stopped", epochs=12, max_epochs=30, reason=reason)
    at = open_page()
    (line,) = [s.value for s in at.success]
    assert line.startswith("Early-stopped: no improvement in validation loss for 5 epochs")
    assert line.lower().count("early") == 1


@pytest.mark.slow
def test_a_run_that_failed_in_set_up_shows_the_real_error_and_its_log(
    runs_root: Path, open_page: Callable[[], AppTest], tmp_path: Path
) -> None:
    missing = tmp_path / "no-corpus"
    run_dir = manager.start_run("fusion", {"device": "cpu"}, missing, root=runs_root)
    wait_for(run_dir, finished, timeout_s=90)
    at = open_page()
    at.selectbox(key="train_watch").set_value(str(run_dir)).run()
    (error,) = [e.value for e in at.error]
    assert f"DataError: {missing}: is not a folder" in error
    assert "process ended unexpectedly" not in error
    log = [c.value for c in at.code]
    assert any("Traceback" in text and "DataError" in text for text in log)


def test_failed_run_shows_its_reason(runs_root: Path, open_page: Callable[[], AppTest]) -> None:
    make_run(runs_root, "failed", epochs=1, max_epochs=30, reason="ValueError: dev split empty")
    at = open_page()
    assert any("ValueError: dev split empty" in e.value for e in at.error)


def test_a_fresh_session_attaches_to_the_running_run(
    runs_root: Path, open_page: Callable[[], AppTest]
) -> None:
    running = make_run(runs_root, "running", epochs=2, max_epochs=10, owner=True, age_s=60)
    make_run(runs_root, "completed", epochs=3, max_epochs=3)  # newer, but finished
    at = open_page()
    assert at.selectbox(key="train_watch").value == str(running)
    assert progress_text(at) == "Epoch 2 of 10"
    assert "train_stop" in [b.key for b in at.button]
    labels = {m.label: m.value for m in at.metric}
    assert labels["Early stopping"] == "0 / 5"
    assert labels["ETA"] == "16 s"  # 8 epochs left at 2 s each


def test_a_stop_request_that_is_ignored_offers_force_stop(
    runs_root: Path, open_page: Callable[[], AppTest]
) -> None:
    running = make_run(runs_root, "running", epochs=1, max_epochs=10, owner=True)
    manager.request_stop(running)
    at = open_page()
    assert at.button(key="train_stop").disabled
    assert "train_force_stop" not in [b.key for b in at.button]
    old = time.time() - 60
    os.utime(running / folder.STOP_REQUEST, (old, old))
    at.run()
    assert "train_force_stop" in [b.key for b in at.button]  # not pressed: it is our pid


def test_fusion_offers_finished_runs_on_the_same_data(
    runs_root: Path, open_page: Callable[[], AppTest], small_corpus: Path
) -> None:
    same = make_run(runs_root, "completed", epochs=2, max_epochs=2, data_root=small_corpus)
    make_run(runs_root, "completed", epochs=2, max_epochs=2)  # the bundled sample
    make_run(runs_root, "failed", epochs=1, max_epochs=2, data_root=small_corpus)
    at = open_page()
    at.button_group(key="train_modality").set_value("fusion").run()
    audio = at.selectbox(key="train_fusion_audio")
    assert audio.options == ["Best finished run", same.name]
    assert audio.value == "best"


def test_the_bundled_sample_is_started_as_no_data_root(
    runs_root: Path, small_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.data.sample.sample_root", lambda: small_corpus)
    monkeypatch.setattr("ui.common.ensure_sample_ui", lambda: small_corpus)
    calls = []

    def start_run(modality, values, data_root, seed, root, sources):
        calls.append((modality, data_root, seed, root, sources))
        return make_run(root, "completed", epochs=1, max_epochs=1)

    monkeypatch.setattr(manager, "start_run", start_run)
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.switch_page("screens/train.py").run()
    at.number_input(key="train_seed").set_value(7)
    at.button(key="train_start").click().run()
    assert calls == [("text", None, 7, runs_root, None)]
    assert at.session_state["train_run"] == str(next(runs_root.iterdir()))


@pytest.mark.slow
def test_text_run_started_from_the_page_completes(
    runs_root: Path, open_page: Callable[[], AppTest]
) -> None:
    at = open_page()
    at.slider(key="train_text_min_df").set_value(2).run()
    at.button(key="train_start").click().run()
    assert not at.exception
    run_dir = Path(at.session_state["train_run"])
    assert run_dir.parent == runs_root
    assert manager.run_info(run_dir).config["text"]["min_df"] == 2
    assert wait_for(run_dir, finished)["state"] == "completed"
    at.run()
    assert at.selectbox(key="train_watch").value == str(run_dir)
    assert chart_titles(at) == []  # one fit, no epochs: scores instead of curves
    scores = {m.label: m.value for m in at.metric}
    assert float(scores["macro-F1"]) == pytest.approx(
        folder.read_metrics(run_dir)[0]["val_macro_f1"], abs=1e-3
    )
    assert "train_resume_run" not in [box.key for box in at.selectbox]  # text: no epochs


@pytest.mark.slow
def test_stop_then_resume_an_audio_run(runs_root: Path, open_page: Callable[[], AppTest]) -> None:
    at = open_page()
    at.button_group(key="train_modality").set_value("audio").run()
    for name, value in LONG_AUDIO.items():
        widgets(at)[f"train_audio_{name}"].set_value(value)
    at.button(key="train_start").click().run()
    run_dir = Path(at.session_state["train_run"])
    try:
        wait_for(run_dir, lambda s: finished(s) or s.get("epoch", 0) >= 1)
        at.run()
        assert progress_text(at).endswith("of 500")
        at.button(key="train_stop").click().run()
        status = wait_for(run_dir, finished, timeout_s=20)
        assert status["state"] == "stopped", status
        done = len(folder.read_metrics(run_dir))

        at.run()  # the stopped run is shown, and offered for resuming
        assert at.selectbox(key="train_resume_run").value == str(run_dir)
        at.number_input(key=f"train_resume_more_{run_dir.name}").set_value(1)
        at.button(key="train_resume").click().run()
        assert not at.exception
        assert wait_for(run_dir, finished)["state"] == "completed"
        assert [r["epoch"] for r in folder.read_metrics(run_dir)] == list(range(1, done + 2))
        at.run()
        assert progress_text(at) == f"Epoch {done + 1} of {done + 1}"
        assert chart_titles(at) == ["Loss", "Learning rate", "Validation, per participant"]
    finally:
        manager.stop_run(run_dir, timeout_s=10)


def test_fusion_offers_runs_on_the_bundled_sample_when_it_is_the_corpus(
    runs_root: Path, small_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.data.sample.sample_root", lambda: small_corpus)
    monkeypatch.setattr("ui.common.ensure_sample_ui", lambda: small_corpus)
    on_sample = make_run(runs_root, "completed", epochs=2, max_epochs=2)  # data root None
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.switch_page("screens/train.py").run()
    at.button_group(key="train_modality").set_value("fusion").run()
    assert at.selectbox(key="train_fusion_audio").options == ["Best finished run", on_sample.name]
