"""Time listing and showing many run folders, one of them malformed.

Usage::

    python benchmarks/runs_listing.py [--runs N] [--json]

Setup: a tiny synthetic corpus, and ``N`` run folders (default 200) in a temporary runs
root, each with what a finished audio run leaves: ``config.json``, ``status.json``,
30 epochs of ``metrics.jsonl``, a best model (random bytes: nothing loads it) and an
``evaluation.json`` of 35 dev and 47 test participants keyed to it. One folder's
``config.json`` is cut in half, as a copy interrupted half-way leaves it.

Figures (seconds, median of the repeats)
    ``list_s``: :func:`core.runs.status.list_runs` (what ``python -m core.runs list``
    and the Train, Explain and Predict pages read); ``table_s``:
    :func:`core.runs_table.runs_table` (the Runs page's table); ``page_first_s``: the
    Runs page through Streamlit's ``AppTest``, first run of a fresh app (imports
    included); ``page_rerun_s``: the page again after one run's status changed (the table
    is rebuilt). Every folder is read each time: nothing is cached between repeats except
    by the page's own caches. The malformed folder must be listed as unreadable, with
    every other run readable.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core.config import make_config  # noqa: E402
from core.runs import folder  # noqa: E402

REPEATS = 5


def report(n: int, k: int, rng) -> dict:
    """A participant-level report shaped like :func:`core.evaluate.evaluate_run`'s."""
    metrics = {"n": n, "n_depressed": k, "macro_f1": 0.6, "f1_depressed": 0.5}
    metrics.update(f1_not_depressed=0.7, auroc=0.7, confusion_matrix=[[n - k - 3, 3], [4, k - 4]])
    baseline = {"n": n, "n_depressed": k, "macro_f1": 0.3, "confusion_matrix": [[0, n - k], [0, k]]}
    return {
        "level": "participant",
        "metrics": metrics,
        "intervals": {name: [0.4, 0.8] for name in ("macro_f1", "f1_depressed", "auroc")},
        "baselines": {"always_depressed": baseline, "always_not_depressed": baseline},
        "participants": [
            {"id": 300 + i, "label": int(i < k), "prob": float(rng.random())} for i in range(n)
        ],
    }


def write_runs(root: Path, data: Path, count: int) -> Path:
    """``count`` finished audio runs under ``root``; return the one made malformed."""
    import numpy as np

    from core.kinds.results import N_BOOT, evaluation_key

    rng = np.random.default_rng(0)
    for i in range(count):
        run_dir = root / f"audio-{i:04d}"
        run_dir.mkdir(parents=True)
        folder.write_config(run_dir, make_config("audio", str(data), {"max_epochs": 30}, seed=i))
        records = []
        for epoch in range(1, 31):
            loss = 0.7 - 0.003 * epoch + 0.01 * rng.random()
            records.append({"epoch": epoch, "train_loss": loss + 0.05, "val_loss": loss})
            records[-1].update(lr=1e-3, elapsed_s=0.1, val_n=35, val_n_depressed=12)
            records[-1].update(val_macro_f1=0.6, val_auroc=0.7, best_epoch=epoch, improved=True)
        folder.rewrite_metrics(run_dir, records)
        (run_dir / folder.BEST).write_bytes(rng.bytes(4096))
        folder.write_status(run_dir, "completed", "reached 30 epochs", owner=False, epoch=30)
        saved = {"key": evaluation_key(run_dir, N_BOOT), "evaluated": time.time()}
        saved["splits"] = {"dev": {"report": report(35, 12, rng)}}
        saved["splits"]["test"] = {"report": report(47, 14, rng)}
        folder.write_json_atomic(run_dir / folder.EVALUATION, saved)
    bad = root / f"audio-{count // 2:04d}"
    text = (bad / folder.CONFIG).read_text()
    (bad / folder.CONFIG).write_text(text[: len(text) // 2])
    return bad


def median_time(call, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def page_times(root: Path, data: Path) -> tuple[float, float]:
    """The Runs page's first run, and a rerun after one run's status changed."""
    from streamlit.testing.v1 import AppTest

    from ui.common import FOLDER_LABEL

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
    at.session_state["data_source"] = FOLDER_LABEL
    at.session_state["data_folder"] = str(data)
    at.switch_page("screens/runs.py")
    started = time.perf_counter()
    at.run()
    first = time.perf_counter() - started
    assert not at.exception, at.exception
    reruns = []
    for i in range(3):
        folder.write_status(root / "audio-0000", "completed", f"rerun {i}", owner=False)
        started = time.perf_counter()
        at.run()
        reruns.append(time.perf_counter() - started)
        assert not at.exception, at.exception
    return first, statistics.median(reruns)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="run folders (default 200)")
    parser.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    args = parser.parse_args(argv)

    from core.data.synth import write_corpus
    from core.runs.status import list_runs
    from core.runs_table import runs_table

    with tempfile.TemporaryDirectory(prefix="runs-listing-") as work:
        work = Path(work)
        data, root = work / "daic", work / "runs"
        write_corpus(data, participants=6, minutes=0.2, seed=0)
        bad = write_runs(root, data, args.runs)
        os.environ["DAIC_RUNS_ROOT"] = str(root)
        infos = list_runs(root)
        unreadable = [info for info in infos if info.status == "unreadable"]
        assert [info.path for info in unreadable] == [bad], unreadable
        assert len(infos) == args.runs
        table = runs_table(root)
        assert (table["status"] == "unreadable").sum() == 1 and len(table) == args.runs
        figures = {
            "runs": args.runs,
            "unreadable_reason": unreadable[0].reason,
            "list_s": median_time(lambda: list_runs(root)),
            "table_s": median_time(lambda: runs_table(root), 3),
        }
        figures["page_first_s"], figures["page_rerun_s"] = page_times(root, data)
    for name, value in figures.items():
        shown = f"{value:.3f}" if isinstance(value, float) else value
        print(f"{name:>18}  {shown}")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
