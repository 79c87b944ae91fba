import json
import os
import time

import pytest

from core.runs import folder
from core.runs.process import start_time
from core.runs.state import RunState


def test_write_json_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "status.json"
    folder.write_json_atomic(path, {"a": 1})
    folder.write_json_atomic(path, {"a": 2, "nan": float("nan")})
    assert folder.read_json(path)["a"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]
    assert folder.read_json(tmp_path / "missing.json") is None


def test_write_status_records_the_owner_and_keeps_it_for_others(tmp_path):
    folder.write_status(tmp_path, "running", epoch=2)
    own = folder.read_json(tmp_path / folder.STATUS)
    assert own["pid"] == os.getpid() and own["owned"] is True
    assert own["proc_start"] == start_time(os.getpid())
    time.sleep(0.01)
    other = folder.write_status(tmp_path, "failed", "process ended unexpectedly", owner=False)
    assert other["owned"] is False and other["pid"] == own["pid"] and other["epoch"] == 2
    assert other["started"] == own["started"] and other["heartbeat"] > own["heartbeat"]
    with pytest.raises(ValueError, match="unknown run state"):
        folder.write_status(tmp_path, "paused")


def test_new_run_dirs_are_unique(tmp_path):
    paths = {folder.new_run_dir(tmp_path, "audio") for _ in range(20)}
    assert len(paths) == 20 and all(p.is_dir() and p.name.startswith("audio-") for p in paths)


def test_atomic_write_keeps_the_old_file_and_removes_its_temporary_on_error(tmp_path):
    path = tmp_path / folder.METRICS
    folder.rewrite_metrics(tmp_path, [record(1)])

    def fails_half_way(handle):
        handle.write("half a line")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        folder.atomic_write(path, fails_half_way)
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        folder.write_json_atomic(tmp_path / "x.json", {"a": object()})
    assert [p.name for p in tmp_path.iterdir()] == [folder.METRICS]
    assert folder.read_metrics(tmp_path) == [record(1)]


def test_run_states_say_whether_they_are_active():
    assert [s for s in RunState if s.active] == ["starting", "running"]
    assert {s for s in RunState if s.finished} == set(RunState) - {"starting", "running"}
    assert RunState("early-stopped").finished and RunState.EARLY_STOPPED == "early-stopped"
    assert [s for s in RunState if s.succeeded] == ["completed", "early-stopped"]


def record(epoch):
    return {"epoch": epoch, "train_loss": 1.0 / epoch, "val_loss": 2.0 / epoch, "lr": 1e-3}


def test_metrics_reader_reads_only_what_is_new(tmp_path):
    reader = folder.MetricsReader(tmp_path)
    assert reader.poll() == []  # no file yet
    folder.append_metrics(tmp_path, record(1))
    folder.append_metrics(tmp_path, record(2))
    assert [r["epoch"] for r in reader.poll()] == [1, 2]
    assert reader.poll() == []
    with open(tmp_path / folder.METRICS, "a") as handle:  # a line being written
        handle.write(json.dumps(record(3))[:10])
    assert reader.poll() == []
    with open(tmp_path / folder.METRICS, "a") as handle:
        handle.write(json.dumps(record(3))[10:] + "\n")
    assert [r["epoch"] for r in reader.poll()] == [3]
    assert [r["epoch"] for r in reader.records] == [1, 2, 3]


def test_metrics_reader_starts_over_when_a_resumed_run_rewrites_the_file(tmp_path):
    for epoch in (1, 2, 3):
        folder.append_metrics(tmp_path, record(epoch))
    reader = folder.MetricsReader(tmp_path)
    reader.poll()
    folder.rewrite_metrics(tmp_path, [record(1), record(2)])  # resumed from epoch 2
    folder.append_metrics(tmp_path, record(3))
    reader.poll()
    assert [r["epoch"] for r in reader.records] == [1, 2, 3]
    # Shrunk in place (same inode): start over too.
    (tmp_path / folder.METRICS).write_text(json.dumps(record(1)) + "\n")
    reader.poll()
    assert [r["epoch"] for r in reader.records] == [1]


def test_metrics_reader_skips_malformed_lines(tmp_path):
    path = tmp_path / folder.METRICS
    path.write_text(json.dumps(record(1)) + "\nnot json\n[1, 2]\n\n" + json.dumps(record(2)) + "\n")
    assert [r["epoch"] for r in folder.read_metrics(tmp_path)] == [1, 2]


def test_metrics_reader_names_each_line_it_skips(tmp_path):
    path = tmp_path / folder.METRICS
    lines = [record(1), {"epoch": 2, "val_loss": "low"}, {"epoch": "3"}, record(4)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + "garbage\n")
    reader = folder.MetricsReader(tmp_path)
    assert [r["epoch"] for r in reader.poll()] == [1, 4]
    assert reader.problems == [
        "metrics.jsonl line 2: val_loss is 'low', expected a number",
        "metrics.jsonl line 3: epoch is '3', expected a whole number from 1",
        "metrics.jsonl line 5: is not valid JSON",
    ]


@pytest.mark.parametrize("text", ['{"state": "compl', "[1, 2]", '{"started": "yesterday"}'])
def test_write_status_replaces_a_status_that_cannot_be_read(tmp_path, text):
    (tmp_path / folder.STATUS).write_text(text)
    status = folder.write_status(tmp_path, "starting", owner=False)
    assert folder.read_json(tmp_path / folder.STATUS) == status
    assert status["state"] == "starting" and isinstance(status["started"], float)


def test_read_config_names_the_file_and_field(tmp_path):
    (tmp_path / folder.CONFIG).write_text('{"modality": "au')
    with pytest.raises(ValueError, match=r"^config.json: is not valid JSON"):
        folder.read_config(tmp_path)
    folder.write_config(tmp_path, {"modality": "audio", "training": {"lr": "fast"}})
    with pytest.raises(ValueError, match=r"^config.json: training.lr is 'fast', expected a number"):
        folder.read_config(tmp_path)
