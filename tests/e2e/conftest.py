"""One Streamlit server for the browser tests that do not test the server's start-up."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.experiment import list_experiments, stop_experiment
from core.runs import manager
from tests.e2e.browser import browser_available, serve, shut_down


@pytest.fixture(scope="session")
def app_server(
    bundled_sample: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimpleNamespace]:
    """``streamlit run app.py`` on the bundled sample (already generated), its runs root.

    Tests share it, so each one finds its own runs and experiments by name or by what
    appeared during the test, never by being the only one.
    """
    if not browser_available():  # the modules skip themselves; start nothing for them
        pytest.skip("no browser")
    base = tmp_path_factory.mktemp("app-server")
    runs_root = base / "runs"
    runs_root.mkdir()
    env = {**os.environ, "DAIC_RUNS_ROOT": str(runs_root), "OMP_NUM_THREADS": "1"}
    server, url = serve(env, base / "server.log")
    yield SimpleNamespace(url=url, runs_root=runs_root, log=base / "server.log")
    for experiment in list_experiments(runs_root):
        if experiment["state"] == "running":
            stop_experiment(experiment["path"], timeout_s=20)
    for run in manager.list_runs(runs_root):
        if run.status in manager.ACTIVE:
            manager.stop_run(run.path, timeout_s=10)
    shut_down(server)
