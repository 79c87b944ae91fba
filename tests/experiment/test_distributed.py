"""Scale-out: a real Dask scheduler and two worker processes on 127.0.0.1, one killed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.experiment.__main__ import main
from tests.experiment.helpers import WorkerKiller, numbers, write_spec

REPO = Path(__file__).resolve().parents[2]


def _start(args: list[str], log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """A scheduler and two single-threaded worker processes (no nanny), loopback only."""
    from distributed import Client

    scheduler_file = tmp_path / "scheduler.json"
    scheduler = _start(
        ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0"]
        + ["--no-dashboard", "--scheduler-file", str(scheduler_file)],
        tmp_path / "scheduler.log",
    )
    processes = [scheduler]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = [
            _start(
                ["distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file)]
                + ["--nthreads", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"]
                + ["--name", f"worker-{i}"],
                tmp_path / f"worker-{i}.log",
            )
            for i in range(2)
        ]
        processes += workers
        with Client(scheduler_file=str(scheduler_file), timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
            address = client.scheduler.address
        yield address, workers
    finally:
        for process in processes:  # this test's own processes; nothing to save
            process.kill()
            process.wait(timeout=15)


def test_a_cluster_with_a_worker_killed_gives_the_local_numbers(
    reference: Path,
    small_corpus: Path,
    tmp_path: Path,
    dask_cluster: tuple[str, list[subprocess.Popen]],
) -> None:
    address, workers = dask_cluster
    assert address.startswith("tcp://127.0.0.1:")
    out = tmp_path / "distributed"
    killer = WorkerKiller(out)
    killer.start()
    spec = write_spec(tmp_path / "spec.toml")
    args = ["run", str(spec), "--data", str(small_corpus), "--out", str(out)]
    assert main([*args, "--scheduler", address]) == 0
    killer.join(timeout=1)
    assert killer.pid in {w.pid for w in workers}  # a worker process, killed mid-run
    assert sum(w.poll() is not None for w in workers) == 1
    assert "resuming audio run" in (killer.killed / "train.log").read_text()
    assert numbers(out) == numbers(reference)
