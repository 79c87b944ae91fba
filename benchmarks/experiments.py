"""Time the experiments engine: one worker against two, on the same small experiment.

Usage::

    python benchmarks/experiments.py [--epochs 5] [--participants 24] [--minutes 0.5] [--json]

Writes a small synthetic corpus (by default 24 participants of about 0.5 min) into a temporary
folder, fills its frame cache once, then runs the same experiment (audio, 2
configurations x 2 seeds x 3 folds = 12 runs, ``--epochs`` epochs each, one CPU thread
per run so both give identical numbers, which is checked) twice through
:func:`core.experiment.engine.drive`: with one local Dask worker, then with two.

sequential_s, parallel_s
    Wall time of each experiment from the driver's start to its end: the Dask cluster's
    start and close, the Optuna study, every run, the statistics.
speedup
    sequential_s / parallel_s.
overhead_share
    Of the two-worker experiment's worker time (workers x parallel_s), the share spent
    outside training and evaluation (outside :func:`core.train.main`): cluster start and
    close, imports in the workers, scheduling, idle workers at the end.
task_overhead_share
    Of the time the tasks ran, the share outside :func:`core.train.main` (the engine's
    own cost per run, cluster start and idle time left out).

Targets on 2 cores: speedup >= 1.6, overhead_share <= 5 %. The cluster's start and close
are a fixed cost of a few seconds per experiment, so both figures depend on how long the
runs are: with the default tiny runs (under a second each) they measure mostly that fixed
cost; ``--participants 60 --minutes 2 --epochs 10`` gives runs of a realistic length.
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
name = "bench-{workers}"
modality = "audio"
objective = "macro_f1"
protocol = "cv"
folds = 3
seeds = [0, 1]
sampler = "grid"
threads = 1

[fixed]
max_epochs = {epochs}
patience = {epochs}

[search]
hidden_size = [16, 32]
"""


def run_experiment(base: Path, corpus: Path, workers: int, epochs: int) -> dict:
    """Create and drive one experiment; return its wall time, outcomes and numbers."""
    from core.experiment.engine import drive
    from core.experiment.folder import create
    from core.experiment.spec import load_spec
    from core.runs import folder

    spec_file = base / f"spec-{workers}.toml"
    spec_file.write_text(SPEC.format(workers=workers, epochs=epochs), encoding="utf-8")
    out = create(load_spec(spec_file), data=corpus, out=base / f"workers-{workers}")
    started = time.monotonic()
    state = drive(out, workers=workers)
    wall = time.monotonic() - started
    outcomes = folder.read_json(out / "outcomes.json")
    predictions = {
        run.name: folder.read_json(run / folder.EVALUATION)["splits"]["dev"]["report"][
            "participants"
        ]
        for run in sorted((out / "runs").iterdir())
    }
    return {"state": state, "wall": wall, "outcomes": outcomes, "numbers": predictions, "dir": out}


def measure(epochs: int, participants: int = 24, minutes: float = 0.5) -> dict:
    """Run the experiment with one worker and with two; return the figures."""
    from core.config import make_config
    from core.data.synth import write_corpus
    from core.experiment.__main__ import format_table
    from core.experiment.status import experiment_status
    from core.kinds.neural_run import prepare_windows

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        os.environ.setdefault("DAIC_CACHE_DIR", str(base / "frame-cache"))
        corpus = base / "daic"
        write_corpus(corpus, participants=participants, minutes=minutes, seed=3)
        prepare_windows(make_config("audio", corpus))  # the frame cache, filled once
        one = run_experiment(base, corpus, 1, epochs)
        two = run_experiment(base, corpus, 2, epochs)
        train_s = sum(o["train_s"] for o in two["outcomes"].values())
        task_s = sum(o["task_s"] for o in two["outcomes"].values())
        table = format_table(experiment_status(two["dir"]))
        return {
            "runs": len(two["outcomes"]),
            "epochs": epochs,
            "participants": participants,
            "minutes": minutes,
            "cores": os.cpu_count(),
            "sequential_s": round(one["wall"], 2),
            "parallel_s": round(two["wall"], 2),
            "speedup": round(one["wall"] / two["wall"], 2),
            "overhead_share": round(1 - train_s / (2 * two["wall"]), 3),
            "task_overhead_share": round(1 - train_s / task_s, 3),
            "overhead_per_run_s": round((2 * two["wall"] - train_s) / len(two["outcomes"]), 2),
            "identical_numbers": one["numbers"] == two["numbers"],
            "states": [one["state"], two["state"]],
            "table": table,
        }


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="epochs per run (default 5)")
    parser.add_argument(
        "--participants", type=int, default=24, help="participants of the corpus (default 24)"
    )
    parser.add_argument(
        "--minutes", type=float, default=0.5, help="minutes per session (default 0.5)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    figures = measure(args.epochs, args.participants, args.minutes)
    print(figures["table"])
    for key, value in figures.items():
        if key != "table":
            print(f"{key:22s} {value}")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
