"""Time the audio and face explanations of one 15-minute session on the CPU.

Usage::

    python benchmarks/explain.py [--json] [--repeats N] [--threads N]

Integrated Gradients converges quickly on an untrained model, so the cost is only
realistic for trained weights. The script therefore:

1. writes a corpus like the bundled sample (``SAMPLE_SETTINGS``: 60 participants of
   about 1 minute) to a temporary folder and trains one audio and one face run on it with
   the default hyper-parameters (``python -m core.train``, both in the background, one
   thread each), while it
2. writes a second corpus of 6 participants of about 15 minutes (IDs from 700) and picks
   the session whose last participant turn ends closest to 15 minutes.

Both runs then explain that one session, the way the Explain page does, against the
obvious way, the two alternating repetition by repetition so that load from other
processes hits both alike:

ours
    :func:`core.kinds.session.session_windows` served by a warm
    :class:`~core.data.cache.FrameCache`, :func:`core.explain.neural.explain_session`
    (attention / gate forward pass, then :func:`core.explain.attribution
    .integrated_gradients`: each window's path cut into 4 pieces of 2 Gauss-Legendre
    steps, only the pieces over tolerance halved again, parameters frozen) and its
    ``feature_table()``. The
    attention pass and Integrated Gradients are timed apart by wrapping the
    ``integrated_gradients`` that ``explain_session`` calls.
obvious
    The same warm ``session_windows``, one no-grad forward pass of all windows for the
    attention, then Captum's ``IntegratedGradients`` with its defaults (50
    Gauss-Legendre steps, all windows in one call, no internal batching) on the same
    target (the log-odds of "depressed") and baseline (zeros), with the model's
    parameters still requiring gradients, asking for the convergence delta the page
    shows; then the same feature table.

The first repetition of each is a warm-up and is reported apart (``warmup_s``; for the
audio run, which goes first, about what the first explanation in a fresh server process
costs); the figures are the median, min and max of the ``N`` timed repetitions. The
cold-cache time of ``session_windows`` (frames extracted from the session's files into an
empty cache; the files themselves sit in the OS page cache, having just been written) is
timed separately, and so is :func:`core.kinds.neural_run.load_neural_run` (the page's
``explain_neural_run`` loads the checkpoint before every explanation it has not cached;
not part of the totals). torch uses ``--threads`` threads (default: the cores this process may
use). Target: ours at most 1 s per modality with a warm cache. With ``--json`` the last
line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from captum.attr import IntegratedGradients

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core.data import Corpus  # noqa: E402
from core.data.cache import CACHE_ENV, FrameCache  # noqa: E402
from core.data.gate import session_turns  # noqa: E402
from core.data.sample import SAMPLE_SETTINGS  # noqa: E402
from core.data.synth import write_corpus  # noqa: E402
from core.explain import neural  # noqa: E402
from core.explain.attribution import Attribution, log_odds  # noqa: E402
from core.explain.neural import SessionExplanation, explain_session  # noqa: E402
from core.kinds.neural_run import load_neural_run  # noqa: E402
from core.kinds.session import SessionWindows, session_windows  # noqa: E402
from core.runs import folder  # noqa: E402

MODALITIES = ("audio", "face")
LONG_CORPUS = {"participants": 6, "minutes": 15.0, "seed": 0, "first_id": 700}
SESSION_S = 15 * 60.0  # the session length we want to explain
TARGET_S = 1.0
OBVIOUS_STEPS = 50  # Captum's default n_steps
PARTS = ("windows", "attention", "ig", "table", "total")
LABELS = {
    "windows": "frames -> windows (warm cache)",
    "attention": "attention / gate pass",
    "ig": "integrated gradients",
    "table": "feature table",
    "total": "total",
}


# --- Setup: corpora and trained runs -----------------------------------------------------


def start_training(data: Path, work: Path) -> dict[str, tuple[Path, subprocess.Popen]]:
    """Train an audio and a face run with the defaults, in the background (1 thread each)."""
    env = {**os.environ, CACHE_ENV: str(work / "train-frames")}  # nothing into the repo
    jobs = {}
    for modality in MODALITIES:
        run_dir = work / f"{modality}-run"
        argv = [sys.executable, "-m", "core.train", modality, "--data", str(data)]
        argv += ["--run-dir", str(run_dir), "--quiet", "--threads", "1"]
        with open(work / f"{modality}-train.out", "wb") as output:  # the child keeps its copy
            process = subprocess.Popen(
                argv, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        jobs[modality] = (run_dir, process)
    return jobs


def finish_training(jobs: dict[str, tuple[Path, subprocess.Popen]], work: Path) -> dict:
    """Wait for the runs; return each run's folder and training summary."""
    runs = {}
    for modality, (run_dir, process) in jobs.items():
        if process.wait() != 0:
            log = (work / f"{modality}-train.out").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"training the {modality} run failed:\n{log}")
        status = folder.read_json(run_dir / folder.STATUS) or {}
        losses = [r["val_loss"] for r in folder.read_metrics(run_dir)]
        runs[modality] = {
            "run_dir": run_dir,
            "state": status.get("state"),
            "epochs": len(losses),
            "best_epoch": int(np.argmin(losses)) + 1,
            "best_val_loss": round(min(losses), 4),
        }
    return runs


def pick_session(corpus: Corpus) -> int:
    """The participant whose last turn ends closest to ``SESSION_S``."""
    ends = {pid: float(session_turns(corpus, pid)[-1, 1]) for pid in corpus.participants}
    return min(ends, key=lambda pid: abs(ends[pid] - SESSION_S))


# --- The two contenders ------------------------------------------------------------------


@contextlib.contextmanager
def timing_ig(seconds: list[float]) -> Iterator[None]:
    """Record how long each ``integrated_gradients`` call made by ``explain_session`` takes."""
    original = neural.integrated_gradients

    def timed(*args: Any, **kwargs: Any) -> Attribution:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - started)

    neural.integrated_gradients = timed
    try:
        yield
    finally:
        neural.integrated_gradients = original


def ours(model: torch.nn.Module, load: Callable[[], SessionWindows]) -> tuple[Any, dict]:
    """Windows from the warm cache, ``explain_session`` and its feature table."""
    ig_seconds: list[float] = []
    started = time.perf_counter()
    windows = load()
    loaded = time.perf_counter()
    with timing_ig(ig_seconds):
        explanation = explain_session(model, windows)
    explained = time.perf_counter()
    explanation.feature_table()
    finished = time.perf_counter()
    if len(ig_seconds) != 1:
        raise RuntimeError("explain_session no longer calls integrated_gradients once")
    return explanation, {
        "windows": loaded - started,
        "attention": explained - loaded - ig_seconds[0],
        "ig": ig_seconds[0],
        "table": finished - explained,
        "total": finished - started,
    }


def obvious(model: torch.nn.Module, load: Callable[[], SessionWindows]) -> tuple[Any, dict]:
    """The same windows, one attention pass, Captum's defaults over every window at once."""
    started = time.perf_counter()
    windows = load()
    loaded = time.perf_counter()
    model.eval()  # parameters keep requires_grad=True
    x = torch.as_tensor(windows.x)  # (W, T, F)
    with torch.no_grad():
        attended_out = model.attend(x)  # logits (W, 2), temporal (W, T), spatial (W, T)
        logits, attention, spatial = (
            attended_out.logits,
            attended_out.temporal,
            attended_out.spatial,
        )
    attended = time.perf_counter()
    ig = IntegratedGradients(lambda batch: log_odds(model, batch))
    values, delta = ig.attribute(x, baselines=torch.zeros_like(x), return_convergence_delta=True)
    integrated = time.perf_counter()
    explanation = SessionExplanation(
        windows=windows,
        window_probs=torch.softmax(logits, dim=1)[:, 1].numpy(),
        attention=attention.numpy(),
        spatial=None if spatial is None else spatial.numpy(),
        attribution=_attribution(values.detach().numpy(), delta.detach().numpy(), logits),
    )
    explanation.feature_table()
    finished = time.perf_counter()
    return explanation, {
        "windows": loaded - started,
        "attention": attended - loaded,
        "ig": integrated - attended,
        "table": finished - integrated,
        "total": finished - started,
    }


def _attribution(values: np.ndarray, delta: np.ndarray, logits: torch.Tensor) -> Attribution:
    """Captum's output as an :class:`Attribution`, judged by the same convergence rule.

    ``integrated_gradients``' defaults: converged when ``|delta| <= max(0.05 |F(x) -
    F(0)|, 0.02)``; ``F(x) - F(0) = sum(values) - delta`` by Captum's definition of delta.
    """
    output = (logits[:, 1] - logits[:, 0]).numpy()  # (W,)
    change = values.reshape(len(values), -1).sum(axis=1) - delta  # (W,)
    return Attribution(
        values=values,
        delta=delta,
        output=output,
        baseline_output=output - change,
        n_gradients=np.full(len(values), OBVIOUS_STEPS),
        converged=np.abs(delta) <= np.maximum(0.05 * np.abs(change), 0.02),
    )


# --- Measuring ---------------------------------------------------------------------------


def spread(times: Sequence[float]) -> dict[str, float]:
    """Median, min and max, rounded to the millisecond's tenth."""
    return {
        "median": round(statistics.median(times), 4),
        "min": round(min(times), 4),
        "max": round(max(times), 4),
    }


def measure(modality: str, run: dict, corpus: Corpus, pid: int, work: Path, repeats: int):
    """Time ours, obvious and the cold cache on one session; return the figures."""
    model, config, normaliser = load_neural_run(run["run_dir"])
    warm = FrameCache(work / f"frames-{modality}")
    session_windows(corpus, pid, config, normaliser, cache=warm)  # fills the warm cache

    def load() -> SessionWindows:
        return session_windows(corpus, pid, config, normaliser, cache=warm)

    contenders = {"ours": ours, "obvious": obvious}
    times: dict[str, list[dict]] = {name: [] for name in contenders}
    cold: list[float] = []
    checkpoint: list[float] = []
    explanations = {}
    for rep in range(1 + repeats):  # repetition 0 is the warm-up
        started = time.perf_counter()
        load_neural_run(run["run_dir"])  # the page's explain_neural_run loads it every time
        checkpoint.append(time.perf_counter() - started)
        cache = FrameCache(work / f"cold-{modality}-{rep}")
        started = time.perf_counter()
        session_windows(corpus, pid, config, normaliser, cache=cache)
        cold.append(time.perf_counter() - started)
        for name in contenders if rep % 2 == 0 else reversed(contenders):
            explanations[name], seconds = contenders[name](model, load)
            times[name].append(seconds)
    if warm.hits != 2 * (1 + repeats):
        raise RuntimeError(f"the warm cache served {warm.hits} of {2 * (1 + repeats)} loads")

    windows = explanations["ours"].windows
    finite = windows.times[np.isfinite(windows.times)]
    result: dict[str, Any] = {
        "participant": pid,
        "session_s": round(float(finite.max() - finite.min()) + 1 / windows.rate_hz, 1),
        "windows": len(windows),
        "steps_per_window": windows.x.shape[1],
        "features": windows.x.shape[2],
        "rate_hz": windows.rate_hz,
        "training": {k: v for k, v in run.items() if k != "run_dir"},
        "cold_windows_s": spread(cold[1:]),
        "checkpoint_load_s": spread(checkpoint[1:]),
    }
    for name, explanation in explanations.items():
        attribution = explanation.attribution
        counts = np.percentile(attribution.n_gradients, [0, 50, 90, 100]).astype(int)
        timed = times[name][1:]
        result[name] = {
            **{part: spread([t[part] for t in timed]) for part in PARTS},
            "warmup_s": round(times[name][0]["total"], 4),
            "gradients_per_window": dict(
                zip(("min", "median", "p90", "max"), counts.tolist(), strict=True)
            ),
            "gradient_evals": int(attribution.n_gradients.sum()),
            "share_converged": round(float(attribution.converged.mean()), 4),
            "max_relative_delta": round(attribution.relative_delta(), 4),
        }
    ours_total = result["ours"]["total"]["median"]
    result["ratio_obvious_ours"] = round(result["obvious"]["total"]["median"] / ours_total, 2)
    result["target_met"] = ours_total <= TARGET_S
    return result


# --- Report ------------------------------------------------------------------------------


def _cell(figures: dict[str, float]) -> str:
    return f"{figures['median']:.3f} ({figures['min']:.3f}-{figures['max']:.3f})"


def print_modality(modality: str, r: dict, repeats: int) -> None:
    """One modality's side-by-side table."""
    training = r["training"]
    print(
        f"\n{modality}: participant {r['participant']}, session {r['session_s'] / 60:.1f} min, "
        f"{r['windows']} windows of {r['steps_per_window']} steps x {r['features']} features; "
        f"run {training['state']} after {training['epochs']} epochs, best epoch "
        f"{training['best_epoch']} (val loss {training['best_val_loss']})"
    )
    print(f"seconds, median (min-max) of {repeats} after a warm-up")
    print(f"{'part':32s}{'ours':>24s}{'obvious':>24s}{'obvious/ours':>14s}")
    for part in PARTS:
        a, b = r["ours"][part], r["obvious"][part]
        ratio = f"{b['median'] / a['median']:13.1f}x" if a["median"] > 0 else ""
        print(f"{LABELS[part]:32s}{_cell(a):>24s}{_cell(b):>24s}{ratio:>14s}")
    print(f"{'frames -> windows (cold cache)':32s}{_cell(r['cold_windows_s']):>24s}")
    print(f"{'checkpoint load (not in total)':32s}{_cell(r['checkpoint_load_s']):>24s}")
    print(f"{'warm-up repetition':32s}{r['ours']['warmup_s']:>24.3f}", end="")
    print(f"{r['obvious']['warmup_s']:>24.3f}")
    for name in ("ours", "obvious"):
        c = r[name]
        per = c["gradients_per_window"]
        print(
            f"  {name:8s} gradients per window min {per['min']} median {per['median']} "
            f"p90 {per['p90']} max {per['max']} ({c['gradient_evals']} in all); "
            f"{100 * c['share_converged']:.0f} % converged; "
            f"max relative delta {c['max_relative_delta']:.3f}"
        )
    verdict = "met" if r["target_met"] else "NOT met"
    print(
        f"target: ours <= {TARGET_S:.0f} s with a warm cache (median): {verdict}; "
        f"fastest repetition {r['ours']['total']['min']:.3f} s"
    )


def print_summary(result: dict) -> None:
    """The two modalities in one table."""
    print(
        f"\nOne ~15-minute session on the CPU, torch threads: {result['threads']} "
        f"(of {result['cores']} cores); load average {result['load_before']} before, "
        f"{result['load_after']} after"
    )
    print(f"{'modality':10s}{'windows':>8s}{'ours s':>9s}{'obvious s':>11s}", end="")
    print(f"{'obvious/ours':>14s}{'target <= 1 s':>15s}")
    for modality in MODALITIES:
        r = result[modality]
        print(
            f"{modality:10s}{r['windows']:>8d}{r['ours']['total']['median']:>9.3f}"
            f"{r['obvious']['total']['median']:>11.3f}{r['ratio_obvious_ours']:>13.2f}x"
            f"{'yes' if r['target_met'] else 'NO':>15s}"
        )
    print(
        "ours: session_windows (warm FrameCache) + explain_session (IG over 4 path pieces of\n"
        "  2 Gauss-Legendre steps, pieces over tolerance halved, parameters frozen) + feature\n"
        "  table. obvious: same windows, one no-grad attention pass, Captum IG defaults\n"
        "  (50 steps, every window at once, parameters requiring grad) + the same table.\n"
        "  relative delta: max |delta| / mean |F(x) - F(0)|; converged: |delta| <=\n"
        "  max(0.05 |F(x) - F(0)|, 0.02) log-odds."
    )


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions (default 5)")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parser.add_argument("--threads", type=int, default=cores, help=f"torch threads ({cores})")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be at least 1")
    torch.set_num_threads(args.threads)
    result: dict[str, Any] = {"threads": args.threads, "cores": cores, "repeats": args.repeats}
    result["load_before"] = _load()
    began = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-explain-"))
    jobs: dict[str, tuple[Path, subprocess.Popen]] = {}
    try:
        print("writing the training corpus (sample settings) ...", flush=True)
        write_corpus(work / "train", **SAMPLE_SETTINGS)
        jobs = start_training(work / "train", work)
        print("training audio and face runs; writing 6 sessions of 15 minutes ...", flush=True)
        write_corpus(work / "long", **LONG_CORPUS)
        runs = finish_training(jobs, work)
        result["setup_s"] = round(time.perf_counter() - began, 1)
        corpus = Corpus(work / "long")
        pid = pick_session(corpus)
        for modality in MODALITIES:
            print(f"explaining participant {pid} with the {modality} run ...", flush=True)
            result[modality] = measure(modality, runs[modality], corpus, pid, work, args.repeats)
    finally:
        for _, process in jobs.values():  # only left running when something failed
            if process.poll() is None:
                process.kill()
                process.wait()
        shutil.rmtree(work, ignore_errors=True)
    result["load_after"] = _load()
    result["target_s"] = TARGET_S
    result["targets_met"] = {m: result[m]["target_met"] for m in MODALITIES}
    result["elapsed_s"] = round(time.perf_counter() - began, 1)
    for modality in MODALITIES:
        print_modality(modality, result[modality], args.repeats)
    print_summary(result)
    print(f"setup {result['setup_s']} s, whole benchmark {result['elapsed_s']} s")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
