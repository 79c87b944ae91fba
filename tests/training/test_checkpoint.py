import os

import numpy as np
import pytest
import torch

from core.training.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
    to_plain,
)


class NotPlain:
    pass


def test_round_trip_keeps_tensors_and_plain_values(tmp_path):
    (tmp_path / "run").mkdir()  # a run's folder exists first (never created by a save)
    path = tmp_path / "run" / "ckpt.pth"
    payload = {"epoch": 3, "weights": torch.arange(4.0), "history": [{"lr": 0.1}], "x": None}
    assert save_checkpoint(path, payload) == path
    loaded = load_checkpoint(path)
    assert loaded["format_version"] == FORMAT_VERSION
    assert loaded["epoch"] == 3 and loaded["history"] == [{"lr": 0.1}] and loaded["x"] is None
    assert torch.equal(loaded["weights"], torch.arange(4.0))
    # the file is readable with plain weights-only torch.load too
    assert torch.load(path, weights_only=True)["epoch"] == 3
    assert [p.name for p in path.parent.iterdir()] == ["ckpt.pth"]  # no temp file left


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="nope.pth: file not found") as info:
        load_checkpoint(tmp_path / "nope.pth")
    assert info.value.path.endswith("nope.pth")


def test_truncated_file_is_a_checkpoint_error_naming_the_file(tmp_path):
    path = tmp_path / "latest_checkpoint.pth"
    save_checkpoint(path, {"epoch": 1, "w": torch.randn(100)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="latest_checkpoint.pth: cannot be read"):
        load_checkpoint(path)


def test_garbage_file_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "junk.pth"
    path.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pth"):
        load_checkpoint(path)


def test_arbitrary_objects_are_never_unpickled(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"format_version": FORMAT_VERSION, "obj": NotPlain()}, path)
    with pytest.raises(CheckpointError, match="evil.pth: holds objects other than tensors"):
        load_checkpoint(path)


def test_wrong_or_missing_format_version(tmp_path):
    newer = tmp_path / "newer.pth"
    save_checkpoint(newer, {"format_version": FORMAT_VERSION + 1})
    with pytest.raises(CheckpointError, match="format version 2"):
        load_checkpoint(newer)
    legacy = tmp_path / "legacy.pth"
    torch.save({"fc.weight": torch.ones(2, 2)}, legacy)
    with pytest.raises(CheckpointError, match="no format_version"):
        load_checkpoint(legacy)
    assert "fc.weight" in load_checkpoint(legacy, allow_legacy=True)
    not_dict = tmp_path / "list.pth"
    torch.save([1, 2], not_dict)
    with pytest.raises(CheckpointError, match="holds a list"):
        load_checkpoint(not_dict)


def test_failed_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "latest_checkpoint.pth"
    save_checkpoint(path, {"epoch": 1})
    with pytest.raises(Exception):  # noqa: B017 - whatever pickling raises
        save_checkpoint(path, {"epoch": 2, "bad": lambda: None})
    assert load_checkpoint(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["latest_checkpoint.pth"]


def test_to_plain_converts_numpy_and_rejects_objects(tmp_path):
    config = {
        "mean": np.array([1.5, 2.0]),
        "n": np.int64(3),
        "names": ("F0", "NAQ"),
        "root": tmp_path,
        7: {"nested": np.float32(0.5)},
    }
    plain = to_plain(config)
    assert plain == {
        "mean": [1.5, 2.0],
        "n": 3,
        "names": ["F0", "NAQ"],
        "root": str(tmp_path),
        7: {"nested": 0.5},
    }
    assert type(plain["n"]) is int
    save_checkpoint(tmp_path / "c.pth", {"config": plain})
    assert load_checkpoint(tmp_path / "c.pth")["config"] == plain
    with pytest.raises(TypeError, match="cannot store a NotPlain"):
        to_plain({"x": NotPlain()})


def test_rng_state_survives_a_weights_only_round_trip(tmp_path):
    import random

    save_checkpoint(tmp_path / "rng.pth", {"rng": capture_rng_state()})
    expected = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002
    restore_rng_state(load_checkpoint(tmp_path / "rng.pth")["rng"])
    got = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002
    assert got[:2] == expected[:2] and torch.equal(got[2], expected[2])


def test_a_deleted_folder_is_never_recreated(tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(FileNotFoundError, match="no such folder"):
        save_checkpoint(run_dir / "latest_checkpoint.pth", {"epoch": 1})
    assert not run_dir.exists()
