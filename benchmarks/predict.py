"""Time the Predict page for participants it has not seen, beside the floor.

Usage::

    python benchmarks/predict.py [--json] [--participants N] [--threads N] [--keep DIR]

Setup: a corpus like the bundled sample (``SAMPLE_SETTINGS``: 60 participants of about
1 minute) in a temporary folder (or ``--keep DIR``, reused when it is there already), and
real runs trained on it with ``python -m core.train`` and the default hyper-parameters:
text, audio and face (audio and face side by side, one thread each), then the fusion of
those three.

The page
    ``app.py`` through Streamlit's ``AppTest`` with the Predict page open, as the page
    tests drive it, in this process, with the runs root and an empty frame cache of its
    own (so no participant's frames are on disk before the page reads them). The first
    visit (a training participant) is timed apart as ``first_visit_s``: it imports the
    models' libraries and loads every run, as a freshly started server does. Then each of
    ``N`` dev and test participants is chosen in the participant box, one after the
    other, as a user clicking through participants would: ``new_participant_s`` is the
    median time of the page's script run for a participant not seen before, from the
    rerun's start until the last score is on the page (all explanation sections closed,
    as the page opens). The same run's wall time through ``AppTest`` (which adds the test
    harness's polling and parsing) is reported as ``apptest_s``. The runs share one
    compiled-script cache, as a server's do (``AppTest`` alone would compile the scripts
    again for every run).
The floor
    For the same participant, with every model already loaded: reading the participant's
    frames from the session files (``extract_session`` with each neural run's feature
    settings, no cache) and cutting and normalising the windows, one forward pass of the
    audio and the face model (the embedding, and the logits from it), reading the
    transcript and the text pipeline's ``predict_proba``, and the fusion's forward pass.
    It is timed three times per participant (nothing is cached between them): the first
    timing is like for like with the page, which sees each participant once, and
    ``floor_s`` is its median; ``floor_best_s`` is the median of the fastest of the three,
    a lower floor with less of the machine's noise (and CPU caches and allocator warm
    from the timings before), and ``ratio_best`` the page's time over it. Page and floor
    alternate participant by participant, so load from other processes hits both alike.

``rerun_s`` is the page's script run for the same participant again, every score cached:
what Streamlit and the page cost beyond the scoring itself.

Opening an explanation section is dearer (Integrated Gradients); the page computes it
only when the section is open, after the scores. ``explain_face_s`` is the median time of
the rerun that opening "Why: face" causes for a participant whose scores are shown.

Target: ``new_participant_s / floor_s`` at most 2. With ``--json`` the last line printed
is one JSON object of the figures.
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core.data import Corpus  # noqa: E402
from core.data.cache import CACHE_ENV  # noqa: E402
from core.data.sample import SAMPLE_SETTINGS  # noqa: E402

TARGET_RATIO = 2.0
SCORES = ("Text", "Audio", "Face", "Fusion", "Late fusion")
RUNS_ENV = "DAIC_RUNS_ROOT"
FLOOR_REPEATS = 3
"""Timings of the floor per participant: the first is like the page's single visit, the
fastest is the floor with the noise of a busy machine taken out."""


# --- Setup: a corpus and real runs ----------------------------------------------------------


def _train(args: list[str], data: Path, run_dir: Path, env: dict) -> subprocess.Popen:
    argv = [sys.executable, "-m", "core.train", *args, "--data", str(data)]
    argv += ["--run-dir", str(run_dir), "--quiet", "--threads", "1", "--seed", "0"]
    log = open(run_dir.parent / f"{run_dir.name}.out", "wb")  # noqa: SIM115 (the child keeps it)
    return subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait(jobs: dict[str, subprocess.Popen], runs: Path) -> None:
    for name, process in jobs.items():
        if process.wait() != 0:
            log = (runs / f"{name}.out").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"training the {name} run failed:\n{log}")


def setup(work: Path) -> tuple[Path, Path]:
    """The corpus and the runs root under ``work``, written and trained when missing."""
    from core.data.synth import write_corpus

    data, runs = work / "daic", work / "runs"
    if not (data / "train_split_Depression_AVEC2017.csv").exists():
        print(f"writing the corpus ({dict(SAMPLE_SETTINGS)}) to {data}", flush=True)
        write_corpus(data, **SAMPLE_SETTINGS)
    if not (runs / "fusion" / "best_model.pth").exists():
        print("training text, audio, face and fusion runs (defaults)", flush=True)
        shutil.rmtree(runs, ignore_errors=True)
        runs.mkdir(parents=True)
        env = {**os.environ, CACHE_ENV: str(work / "train-frames"), "OMP_NUM_THREADS": "1"}
        _wait({m: _train([m], data, runs / m, env) for m in ("text", "audio", "face")}, runs)
        sources = [f"--{m}-run={runs / m}" for m in ("audio", "face", "text")]
        _wait({"fusion": _train(["fusion", *sources], data, runs / "fusion", env)}, runs)
    return data, runs


# --- The page ---------------------------------------------------------------------------


@contextlib.contextmanager
def script_timer(seconds: list[float]) -> Iterator[None]:
    """Record how long each script run of the app takes (its own thread, start to end)."""
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    original = ScriptRunner._run_script

    def timed(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - started)

    ScriptRunner._run_script = timed
    try:
        yield
    finally:
        ScriptRunner._run_script = original


@contextlib.contextmanager
def one_script_cache() -> Iterator[None]:
    """Let every ``AppTest`` run share one compiled-script cache, as a server's runs do.

    ``AppTest`` builds a new ``ScriptCache`` for every run, so it compiles ``app.py`` and
    the page (with Streamlit's "magic" rewriting) again each time, which a server does
    once; left alone, that adds tens of milliseconds to every rerun measured here.
    """
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    modules = (app_test, local_script_runner)
    originals = [module.ScriptCache for module in modules]
    for module in modules:
        module.ScriptCache = lambda: shared
    try:
        yield
    finally:
        for module, original in zip(modules, originals, strict=True):
            module.ScriptCache = original


class Page:
    """The app with the Predict page open, driven like a user through ``AppTest``."""

    def __init__(self, data: Path, first: int) -> None:
        from streamlit.testing.v1 import AppTest

        from ui.common import FOLDER_LABEL

        self.scripts: list[float] = []
        self.at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
        self.at.session_state["data_source"] = FOLDER_LABEL
        self.at.session_state["data_folder"] = str(data)
        self.at.session_state["predict_pid"] = first
        started = time.perf_counter()
        with script_timer(self.scripts):
            self.at.switch_page("screens/predict.py").run()
        self.first_visit_s = time.perf_counter() - started
        self.check(first)

    def check(self, pid: int) -> dict[str, str]:
        """The scores shown; fails unless every one of them is a probability."""
        if self.at.exception:
            raise RuntimeError(f"the page failed for {pid}: {self.at.exception}")
        shown = {m.label: m.value for m in self.at.metric}
        if [shown.get(s, "").endswith("%") for s in SCORES] != [True] * len(SCORES):
            raise RuntimeError(f"participant {pid}: not every score is shown: {shown}")
        return shown

    def run(self) -> tuple[float, float]:
        """Rerun the page; return (script seconds, wall seconds through AppTest)."""
        del self.scripts[:]
        started = time.perf_counter()
        with script_timer(self.scripts):
            self.at.run()
        wall = time.perf_counter() - started
        if len(self.scripts) != 1:
            raise RuntimeError(f"expected one script run, got {len(self.scripts)}")
        return self.scripts[0], wall

    def show(self, pid: int) -> tuple[float, float]:
        """Choose a participant and wait for the page; every explanation closed."""
        self.at.session_state["predict_why_face"] = False
        self.at.selectbox(key="predict_pid").set_value(pid)
        seconds = self.run()
        self.check(pid)
        return seconds

    def open_face(self) -> float:
        """Open "Why: face" for the participant shown; the rerun's script seconds."""
        self.at.session_state["predict_why_face"] = True
        seconds, _ = self.run()
        if self.at.exception or not self.at.get("plotly_chart"):
            raise RuntimeError(f"the face explanation did not show: {self.at.exception}")
        return seconds


# --- The floor --------------------------------------------------------------------------


class Floor:
    """Every model loaded once; per participant only reading and forward passes."""

    def __init__(self, runs: Path) -> None:
        from core.kinds.fusion_run import load_fusion_run
        from core.kinds.neural_run import load_neural_run
        from core.kinds.text_run import load_text_run
        from core.runs.folder import read_config

        self.neural = {m: load_neural_run(runs / m) for m in ("audio", "face")}
        self.text = load_text_run(runs / "text")
        self.speakers = read_config(runs / "text")["text"]["speakers"]
        self.fusion, _ = load_fusion_run(runs / "fusion")

    def windows(self, corpus: Corpus, pid: int, modality: str):
        """The participant's normalised windows ``(W, T, F)`` under one neural run."""
        from core.data.features import cut_windows
        from core.data.frames import extract_session
        from core.kinds.neural_run import feature_settings, window_settings

        _, config, normaliser = self.neural[modality]
        settings, windows = feature_settings(config), window_settings(config)
        frames = extract_session(corpus, pid, settings)
        length, hop = windows.length(settings.rate_hz), windows.hop(settings.rate_hz)
        x, _ = cut_windows(frames.times, frames.values, length, hop)  # (W, T, F)
        return normaliser.transform(x, copy=False)

    def score(self, corpus: Corpus, pid: int) -> dict[str, float]:
        """The participant's probabilities, computed as cheaply as they can be."""
        import torch

        from core.data.text import participant_document

        probs: dict[str, float] = {}
        inputs = {"mask": torch.ones(1, 3)}
        with torch.no_grad():
            for modality, (model, _, _) in self.neural.items():
                x = torch.as_tensor(self.windows(corpus, pid, modality))
                embedding = model.embed(x)  # (W, D)
                logits = model.logits_from_embedding(embedding)  # (W, 2)
                probs[modality] = float(torch.softmax(logits, dim=1)[:, 1].mean())
                inputs[f"{modality}_emb"] = embedding.mean(dim=0, keepdim=True)  # (1, D)
            document = participant_document(corpus.transcript(pid), self.speakers)
            probs["text"] = float(self.text.predict_proba([document])[0, 1])
            inputs["text_prob"] = torch.tensor([[probs["text"]]])
            logits = self.fusion.logits(inputs)  # (1, 2)
            probs["fusion"] = float(torch.softmax(logits, dim=1)[0, 1])
        return probs

    def time(self, corpus: Corpus, pid: int, repeats: int = FLOOR_REPEATS) -> tuple[float, float]:
        """The first of ``repeats`` timings of :meth:`score` for a participant, and the best."""
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            self.score(corpus, pid)
            seconds.append(time.perf_counter() - started)
        return seconds[0], min(seconds)


def check_floor(floor: Floor, corpus: Corpus, pid: int) -> None:
    """The floor's shortcut (logits from the embedding) gives the models' probabilities."""
    from core.kinds.neural_run import predict_windows

    probs = floor.score(corpus, pid)
    for modality, (model, _, _) in floor.neural.items():
        full = float(predict_windows(model, floor.windows(corpus, pid, modality)).mean())
        if abs(full - probs[modality]) > 1e-5:
            raise RuntimeError(f"the floor's {modality} probability is off: {probs} vs {full}")


# --- Main -------------------------------------------------------------------------------


def measure(data: Path, runs: Path, work: Path, n: int) -> dict[str, Any]:
    os.environ[RUNS_ENV] = str(runs)
    page_cache = work / "page-frames"
    shutil.rmtree(page_cache, ignore_errors=True)
    os.environ[CACHE_ENV] = str(page_cache)  # frames of no participant on disk yet
    corpus = Corpus(data)
    first = corpus.ids("train")[0]
    stack = contextlib.ExitStack()
    stack.enter_context(one_script_cache())
    page = Page(data, first)  # imports torch and friends, loads every run
    print(f"first visit (participant {first}): {page.first_visit_s:.2f} s", flush=True)
    floor = Floor(runs)
    check_floor(floor, corpus, first)
    new = (corpus.ids("dev") + corpus.ids("test"))[:n]
    rows = []
    for i, pid in enumerate(new):
        if i % 2:
            page_s, wall_s = page.show(pid)
            floor_s, best_s = floor.time(corpus, pid)
        else:
            floor_s, best_s = floor.time(corpus, pid)
            page_s, wall_s = page.show(pid)
        rerun_s, _ = page.run()  # the same participant again: every score cached
        explain_s = page.open_face()
        rows.append(
            {"pid": pid, "page_s": page_s, "apptest_s": wall_s, "floor_s": floor_s}
            | {"floor_best_s": best_s, "rerun_s": rerun_s, "explain_face_s": explain_s}
        )
        print(
            f"{pid}: page {page_s:.3f} s (AppTest {wall_s:.3f} s), floor {floor_s:.3f} s "
            f"(best {best_s:.3f} s), ratio {page_s / floor_s:.2f}; rerun {rerun_s:.3f} s; "
            f"opening 'Why: face' {explain_s:.2f} s",
            flush=True,
        )
    stack.close()

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in rows), 4)

    figures = {
        "participants": len(rows),
        "new_participant_s": median("page_s"),
        "floor_s": median("floor_s"),
        "floor_best_s": median("floor_best_s"),
        "apptest_s": median("apptest_s"),
        "rerun_s": median("rerun_s"),
        "explain_face_s": median("explain_face_s"),
        "first_visit_s": round(page.first_visit_s, 3),
        "threads": int(os.environ["OMP_NUM_THREADS"]),
        "rows": [
            {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows
        ],
    }
    figures["ratio"] = round(figures["new_participant_s"] / figures["floor_s"], 2)
    figures["ratio_best"] = round(figures["new_participant_s"] / figures["floor_best_s"], 2)
    figures["target_ratio"] = TARGET_RATIO
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    parser.add_argument(
        "--participants", type=int, default=7, help="new participants to time (at least 5)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="torch threads for the page and the floor (default: the cores this process may use)",
    )
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the corpus and runs here")
    args = parser.parse_args(argv)
    if args.participants < 5:
        parser.error("--participants must be at least 5 (the figure is a median)")
    # Read by torch when the page first imports it (a fresh server imports it there too).
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-predict-"))
    try:
        data, runs = setup(work)
        figures = measure(data, runs, work, args.participants)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"{'':28}{'median':>10}")
    print(f"{'page, new participant':28}{figures['new_participant_s']:>9.3f}s")
    print(f"{'floor':28}{figures['floor_s']:>9.3f}s")
    print(f"{'ratio (target <= 2)':28}{figures['ratio']:>10.2f}")
    print(f"{'floor, best of 3':28}{figures['floor_best_s']:>9.3f}s")
    print(f"{'ratio to the best floor':28}{figures['ratio_best']:>10.2f}")
    print(f"{'page through AppTest':28}{figures['apptest_s']:>9.3f}s")
    print(f"{'rerun, nothing new':28}{figures['rerun_s']:>9.3f}s")
    print(f"{'opening Why: face':28}{figures['explain_face_s']:>9.3f}s")
    print(f"{'first visit (cold)':28}{figures['first_visit_s']:>9.3f}s")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
