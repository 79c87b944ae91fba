"""Time ``stop`` on a grid of 10^4 configurations: from the request to the driver's exit.

Usage::

    python benchmarks/experiment_stop.py [--wait 30] [--timeout 120] [--workers 2] [--json]

Writes a small synthetic corpus (24 participants of about 0.5 min) into a temporary
folder, creates an experiment whose grid has 100 x 100 = 10,000 configurations (audio,
the official split, one seed, one epoch per run), starts its driver in the background as
the dashboard does (:func:`core.experiment.start_experiment`), lets it work ``--wait``
seconds, then calls :func:`core.experiment.control.stop` and times it until the driver's
process has ended.

asked, done
    Configurations asked of Optuna and runs ended when the stop was pressed.
outcomes_written
    Whether the driver had recorded any run's outcome by then (``outcomes.json``).
stop_s
    Seconds from the stop request to the driver's exit.
ended_by_timeout
    True when the driver did not end by itself within ``--timeout`` and ``stop`` ended
    its process (``stop_s`` is then about the timeout).
asked_after_stop
    Configurations asked between the stop request and the driver's exit.

With ``--json`` the last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SPEC = """\
name = "grid-10k"
modality = "audio"
objective = "macro_f1"
protocol = "dev"
seeds = [0]
sampler = "grid"
threads = 1

[fixed]
max_epochs = 1

[search]
hidden_size = [{hidden}]
dropout = [{dropout}]
"""


def _asked(out: Path) -> int:
    from core.runs import folder

    return len(folder.read_json(out / "configurations.json") or {})


def measure(wait_s: float, timeout_s: float, workers: int) -> dict:
    """Start the 10^4 grid, stop it after ``wait_s``; return the figures."""
    from core.config import make_config
    from core.data.synth import write_corpus
    from core.experiment import start_experiment
    from core.experiment.control import stop
    from core.experiment.spec import load_spec
    from core.kinds.neural_run import prepare_windows
    from core.runs import folder
    from core.runs.process import is_alive

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        os.environ.setdefault("DAIC_CACHE_DIR", str(base / "frame-cache"))
        corpus = base / "daic"
        write_corpus(corpus, participants=24, minutes=0.5, seed=3)
        prepare_windows(make_config("audio", corpus))  # the frame cache, filled once
        spec_file = base / "spec.toml"
        spec_file.write_text(
            SPEC.format(
                hidden=", ".join(str(h) for h in range(8, 108)),
                dropout=", ".join(f"{i / 200:g}" for i in range(100)),
            ),
            encoding="utf-8",
        )
        out = start_experiment(load_spec(spec_file), data=corpus, out=base / "exp", workers=workers)
        deadline = time.monotonic() + 120
        while not (folder.read_json(out / "driver.json") or {}).get("pid"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no driver started: see {out / 'driver.log'}")
            time.sleep(0.1)
        time.sleep(wait_s)
        record = folder.read_json(out / "driver.json")
        asked = _asked(out)
        done = len(folder.read_json(out / "outcomes.json") or {})
        outcomes_written = (out / "outcomes.json").is_file()
        started = time.monotonic()
        stop(out, timeout_s)
        while is_alive(record["pid"], record["proc_start"]):
            time.sleep(0.05)
        stop_s = time.monotonic() - started
        after = folder.read_json(out / "driver.json") or {}
        return {
            "grid": 10_000,
            "workers": workers,
            "wait_s": wait_s,
            "asked": asked,
            "done": done,
            "outcomes_written": outcomes_written,
            "stop_s": round(stop_s, 2),
            "ended_by_timeout": str(after.get("reason") or "").startswith("ended after"),
            "asked_after_stop": _asked(out) - asked,
            "state": after.get("state"),
            "reason": after.get("reason"),
        }


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wait", type=float, default=30.0, help="seconds before the stop")
    parser.add_argument("--timeout", type=float, default=120.0, help="stop's own timeout")
    parser.add_argument("--workers", type=int, default=2, help="local workers (default 2)")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    figures = measure(args.wait, args.timeout, args.workers)
    for key, value in figures.items():
        print(f"{key:18s} {value}")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
