"""``core.experiment --scheduler`` and the spec file: refused in one line, nothing created.

Loopback addresses only (127.0.0.1).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.experiment import engine
from core.experiment.__main__ import main
from tests.experiment.helpers import write_spec


def _run(spec: Path, out: Path, *extra: str, data: Path | None = None) -> int:
    data = spec.parent if data is None else data
    return main(["run", str(spec), "--data", str(data), "--out", str(out), *extra])


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("notanaddress", "not a scheduler address"),
        ("tcp://127.0.0.1:notaport", "not a scheduler address"),
        ("tcp://127.0.0.1:70000", "not a scheduler address"),
        ("http://127.0.0.1:8786", "not a scheduler address"),
    ],
)
def test_a_malformed_scheduler_address_is_refused_at_once(tmp_path, capsys, address, why):
    spec = write_spec(tmp_path / "spec.toml")
    out = tmp_path / "experiment"
    assert _run(spec, out, "--scheduler", address) == 2
    err = capsys.readouterr().err
    assert why in err and "tcp://HOST:PORT" in err and "Traceback" not in err
    assert not out.exists()


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_scheduler_is_said_in_one_line_before_anything_is_created(
    small_corpus, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(engine, "CONNECT_TIMEOUT_S", 1.0, raising=False)
    spec = write_spec(tmp_path / "spec.toml")
    out = tmp_path / "experiment"
    address = f"tcp://127.0.0.1:{_closed_port()}"
    assert _run(spec, out, "--scheduler", address, data=small_corpus) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: no Dask scheduler answers at {address}")
    assert len(err.splitlines()) == 1
    assert not out.exists()


REPO = Path(__file__).resolve().parents[2]


def _start(module: str, args: list[str], log: Path, with_project: bool) -> subprocess.Popen:
    """``python -m MODULE ARGS``, in the repository with it on PYTHONPATH, or outside it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if with_project:
        env["PYTHONPATH"] = str(REPO)
    cwd = REPO if with_project else log.parent
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=cwd, env=env, stdout=out, stderr=out
        )


@pytest.mark.slow
@pytest.mark.parametrize("without", ["scheduler", "worker"])
def test_a_cluster_that_cannot_import_the_project_is_refused(tmp_path, capsys, without):
    """A scheduler, or a worker, started outside the repository without it on PYTHONPATH."""
    from distributed import Client

    scheduler_file = tmp_path / "scheduler.json"
    processes = [
        _start(
            "distributed.cli.dask_scheduler",
            ["--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
            + ["--scheduler-file", str(scheduler_file)],
            tmp_path / "scheduler.log",
            with_project=without != "scheduler",
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if without == "worker":
            processes.append(
                _start(
                    "distributed.cli.dask_worker",
                    ["--scheduler-file", str(scheduler_file), "--nthreads", "1"]
                    + ["--no-nanny", "--no-dashboard", "--host", "127.0.0.1"],
                    tmp_path / "worker.log",
                    with_project=False,
                )
            )
        with Client(scheduler_file=str(scheduler_file), timeout=30) as client:
            if without == "worker":
                client.wait_for_workers(1, timeout=60)
            address = client.scheduler.address
        spec = write_spec(tmp_path / "spec.toml")
        out = tmp_path / "experiment"
        assert _run(spec, out, "--scheduler", address) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        assert f"{without} " in err and "cannot import this project" in err and "PYTHONPATH" in err
        assert not out.exists()
    finally:
        for process in processes:  # this test's own processes
            process.kill()
            process.wait(timeout=15)


def test_a_spec_with_a_byte_order_mark_is_read(tmp_path):
    from core.experiment.spec import load_spec

    path = write_spec(tmp_path / "spec.toml")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_spec(path).name == "small"


def test_a_spec_that_is_not_utf8_is_said_plainly(tmp_path, capsys):
    path = write_spec(tmp_path / "spec.toml")
    path.write_bytes(path.read_bytes().replace(b'"small"', b'"sm\xe4ll"'))
    out = tmp_path / "experiment"
    assert _run(path, out) == 2
    err = capsys.readouterr().err.strip()
    assert f"{path} is not UTF-8 text" in err and "Traceback" not in err
    assert not out.exists()
