"""On a GPU, runs declare a Dask resource so the device is never shared (skipped without)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_cuda_runs_take_the_one_gpu_resource_in_turn(small_corpus: Path, tmp_path: Path) -> None:
    from core.experiment.__main__ import main
    from core.experiment.engine import uses_gpu
    from core.experiment.folder import Experiment
    from core.runs import folder
    from tests.experiment.helpers import SPEC, write_spec

    text = SPEC.replace("max_epochs = 3", 'max_epochs = 2\ndevice = "cuda"')
    spec = write_spec(tmp_path / "spec.toml", name="gpu", text=text)
    out = tmp_path / "gpu"
    args = ["run", str(spec), "--data", str(small_corpus), "--out", str(out), "--workers", "2"]
    assert main(args) == 0
    assert uses_gpu(Experiment(out))
    outcomes = folder.read_json(out / "outcomes.json")
    assert len(outcomes) == 8 and {o["state"] for o in outcomes.values()} == {"completed"}
    assert len({o["pid"] for o in outcomes.values()}) == 1  # one worker holds the device
    for name in outcomes:
        assert folder.read_config(out / "runs" / name)["training"]["device"] == "cuda"
