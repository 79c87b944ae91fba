r"""Time the data pipeline side by side: the common pandas idiom, our extraction, our cache.

Usage::

    python benchmarks/data_pipeline.py [--participants N] [--minutes M] [--json] [--keep DIR]

A synthetic corpus of ``N`` sessions of about ``M`` minutes is written to a temporary
folder (or to / reused from ``--keep DIR``; ``--participants 189 --minutes 15`` is the
full DAIC-WOZ size, about 22 GB and a few minutes to write). Then three phases build the
same audio **and** face windows (default settings: participant-only gate, 8 s windows,
50 % overlap), each in a fresh ``spawn`` subprocess so that its peak memory (``VmHWM``,
else ``ru_maxrss``) is that phase's own:

naive
    The idiom common in published DAIC-WOZ code: ``pd.read_csv(path, sep=", ")`` (the
    Python engine) for CLNF files, ``pd.read_csv(path, header=None)`` for COVAREP,
    ``pd.read_csv(path, sep="\t")`` for transcripts, then ``groupby`` resampling, a loop
    over turns for the gate and a loop over window starts.
first
    :func:`core.data.features.load_windows` with an empty cache. On a large corpus the
    sessions are parsed in worker processes, one per core
    (:data:`core.data.store.PROCESS_MIN_BYTES`).
cached
    The same call again, served by the cache.

Before the phases, every file they read is read once, so that each phase finds the
corpus in the page cache alike (when it fits in memory) instead of the first phase
paying for the disk.

Peak memory is sampled over the phase's process and all its descendants (the worker
processes included), and is never below the phase process's own ``VmHWM``.

The windows of all three phases are checked to match (float tolerance). Last, every
COVAREP file is parsed once by our reader and once by pandas' C reader (the floor for a
single thread), and both throughputs are printed in MB/s beside the first extraction's
(files read per second of the whole phase). With ``--json`` the last line printed is one
JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core.data import formats, known_defects  # noqa: E402
from core.data.store import cores  # noqa: E402

AUDIO_RATE, FACE_RATE = 10.0, 5.0
FACE_KINDS = ("aus", "pose", "gaze")
WINDOW_S, OVERLAP = 8.0, 0.5
AUDIO_FILES = ("covarep", "transcript")
FACE_FILES = (*FACE_KINDS, "transcript")


# --- The naive pipeline ------------------------------------------------------------------


def _naive_labels(root: Path) -> dict[str, dict[int, int]]:
    out = {}
    for split, name, column in (
        ("train", formats.TRAIN_LABELS, "PHQ8_Binary"),
        ("dev", formats.DEV_LABELS, "PHQ8_Binary"),
        ("test", formats.TEST_LABELS_FULL, "PHQ_Binary"),
    ):
        table = pd.read_csv(root / name)
        out[split] = dict(zip(table["Participant_ID"], table[column], strict=True))
    return out


def _naive_gate(centres: np.ndarray, root: Path, pid: int) -> np.ndarray:
    transcript = pd.read_csv(root / f"{pid}_P" / f"{pid}_TRANSCRIPT.csv", sep="\t")
    offset = known_defects.transcript_offset(pid)
    keep = np.zeros(len(centres), dtype=bool)
    for _, row in transcript.iterrows():
        if str(row["speaker"]).strip().lower() == "participant":
            start, stop = row["start_time"] + offset, row["stop_time"] + offset
            keep |= (centres >= start) & (centres <= stop)
    if span := known_defects.interruption(pid):
        keep &= (centres < span[0]) | (centres > span[1])
    return keep


def _naive_bins(frame: pd.DataFrame, columns: list[str], rate: float):
    frame["bin"] = np.floor(frame["time"] * rate + 1e-9).astype(int)
    means = frame.groupby("bin")[columns].mean()
    centres = (means.index.to_numpy() + 0.5) / rate
    return centres, means.to_numpy()


def _naive_audio(root: Path, pid: int):
    frame = pd.read_csv(root / f"{pid}_P" / f"{pid}_COVAREP.csv", header=None)
    columns = list(formats.COVAREP_COLUMNS)
    frame.columns = columns
    frame["time"] = np.arange(len(frame)) / 100.0
    frame = frame[(frame[columns] != 0).any(axis=1)].copy()
    frame.loc[frame["VUV"] == 0, list(formats.COVAREP_GLOTTAL)] = np.nan
    centres, values = _naive_bins(frame, columns, AUDIO_RATE)
    keep = _naive_gate(centres, root, pid)
    return centres[keep], values[keep]


def _naive_face(root: Path, pid: int):
    merged = None
    columns = []
    for kind in FACE_KINDS:
        path = root / f"{pid}_P" / formats.session_file(pid, kind)
        frame = pd.read_csv(path, sep=", ", engine="python")
        columns += list(formats.CLNF_FILES[kind][1])
        if merged is None:
            merged = frame
        else:
            merged = merged.merge(
                frame.drop(columns=["frame", "confidence", "success"]), on="timestamp"
            )
    merged = merged[merged["success"] == 1].copy()
    merged["time"] = merged["timestamp"]
    centres, values = _naive_bins(merged, columns, FACE_RATE)
    keep = _naive_gate(centres, root, pid)
    return centres[keep], values[keep]


def _naive_windows(root: Path, read) -> dict[str, tuple]:
    labels = _naive_labels(root)
    frames = {}
    for split in formats.SPLITS:
        for pid in labels[split]:
            if (root / f"{pid}_P").is_dir():
                frames[pid] = read(root, pid)
    train = np.concatenate([frames[p][1] for p in labels["train"] if p in frames])
    mean, std = np.nanmean(train, axis=0), np.nanstd(train, axis=0)
    mean = np.where(np.isnan(mean), 0.0, mean)
    std = np.where(np.isnan(std) | (std == 0), 1.0, std)
    rate = AUDIO_RATE if read is _naive_audio else FACE_RATE
    length = round(WINDOW_S * rate)
    hop = max(1, round(length * (1 - OVERLAP)))
    out = {}
    for split in formats.SPLITS:
        xs, ts, ys, ps = [], [], [], []
        for pid, label in labels[split].items():
            if pid not in frames:
                continue
            times, values = frames[pid]
            values = np.nan_to_num((values - mean) / std, nan=0.0)
            starts = list(range(0, len(values) - length + 1, hop))
            if not starts and 2 * len(values) >= length and len(values):
                pad = length - len(values)
                values = np.vstack([values, np.zeros((pad, values.shape[1]))])
                times = np.concatenate([times, np.full(pad, np.nan)])
                starts = [0]
            for start in starts:
                xs.append(values[start : start + length])
                ts.append(times[start : start + length])
                ys.append(label)
                ps.append(pid)
        out[split] = (np.array(xs, np.float32), np.array(ys), np.array(ps), np.array(ts))
    return out


# --- Phases, each in its own process -----------------------------------------------------


def _ours(root: Path, cache_dir: Path, modality: str, corpus=None):
    from core.data.cache import FrameCache
    from core.data.corpus import Corpus
    from core.data.features import FeatureSettings, WindowSettings, load_windows

    corpus = corpus or Corpus(root)
    settings = FeatureSettings(("covarep",) if modality == "audio" else FACE_KINDS)
    window_settings = WindowSettings(WINDOW_S, OVERLAP)
    windows, _, _ = load_windows(corpus, settings, window_settings, cache=FrameCache(cache_dir))
    return corpus, {s: (w.x, w.y, w.participant_ids, w.times) for s, w in windows.items()}


def _peak_mb() -> float:
    """Peak resident memory of the current process, in MB.

    ``VmHWM`` belongs to the process image, so it starts afresh in a spawned child;
    ``ru_maxrss`` on Linux also keeps the parent's size at the time of the fork.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


class _TreeMemory:
    """Peak resident memory of this process and all its descendants, sampled (MB).

    The first extraction parses in worker processes (children of a forkserver that is
    itself a child of this process), whose memory ``VmHWM`` of this process never sees.
    Pages shared after a fork are counted once per process, so this errs high.
    """

    def __init__(self, every_s: float = 0.05) -> None:
        import threading

        self.peak_mb = 0.0
        self._every = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:  # ended meanwhile
                    pass
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop.wait(self._every)

    def __enter__(self) -> _TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _phase(name: str, root: str, cache_dir: str, dump: str, queue) -> None:
    """Run one phase, then report seconds and peak memory, and dump its windows."""
    import pyarrow.csv  # noqa: F401  (every phase starts with the same modules imported)

    import core.data.features  # noqa: F401

    with _TreeMemory() as tree:
        result, seconds = _run(name, root, cache_dir)
    peak_mb = max(_peak_mb(), tree.peak_mb)
    arrays = {
        f"{modality}_{split}_{i}": array
        for modality, splits in result.items()
        for split, arrays in splits.items()
        for i, array in enumerate(arrays)
    }
    queue.put(
        {
            "seconds": sum(seconds.values()),
            "audio_s": seconds.get("audio", 0.0),
            "face_s": seconds.get("face", 0.0),
            "peak_mb": peak_mb,
            "main_peak_mb": _peak_mb(),
            "windows_mb": sum(a.nbytes for a in arrays.values()) / 1e6,
        }
    )
    np.savez(dump, **arrays)


def _run(name: str, root: str, cache_dir: str) -> tuple[dict, dict]:
    """Build the audio and face windows the phase's way; return them and the seconds."""
    result, seconds, corpus = {}, {}, None
    for modality in ("audio", "face") if name != "baseline" else ():
        began = time.perf_counter()
        if name == "naive":
            read = _naive_audio if modality == "audio" else _naive_face
            result[modality] = _naive_windows(Path(root), read)
        else:
            corpus, result[modality] = _ours(Path(root), Path(cache_dir), modality, corpus)
        seconds[modality] = time.perf_counter() - began
    return result, seconds


def run_phase(name: str, root: Path, cache_dir: Path, dump: Path) -> dict:
    """Run one phase in a fresh ``spawn`` subprocess and return its figures."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    args = (name, str(root), str(cache_dir), str(dump), queue)
    process = context.Process(target=_phase, args=args)
    process.start()
    while True:
        try:
            result = queue.get(timeout=1.0)
            break
        except Empty:
            if not process.is_alive():
                raise RuntimeError(f"phase {name} died (exit code {process.exitcode})") from None
    process.join()
    if process.exitcode:
        raise RuntimeError(f"phase {name} failed with exit code {process.exitcode}")
    return result


def _compare(reference: Path, other: Path, label: str) -> None:
    """Assert that two phases built the same windows."""
    with np.load(reference) as a, np.load(other) as b:
        if sorted(a.files) != sorted(b.files):
            raise AssertionError(f"{label}: different window sets")
        for key in a.files:
            x, y = a[key], b[key]
            if x.shape != y.shape:
                raise AssertionError(f"{label}: {key} has shape {x.shape} vs {y.shape}")
            if x.dtype.kind == "f":
                np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-4, equal_nan=True, err_msg=key)
            else:
                np.testing.assert_array_equal(x, y, err_msg=key)


# --- Corpus and report -------------------------------------------------------------------


def _corpus(path: Path, participants: int, minutes: float) -> dict:
    from core.data.synth import write_corpus

    if (path / formats.TRAIN_LABELS).is_file():
        return {"reused": True}
    began = time.perf_counter()
    print(f"writing a synthetic corpus of {participants} x {minutes:g} min to {path} ...")

    def progress(done: int, total: int) -> None:
        if done % 10 == 0 or done == total:
            print(f"  {done}/{total} sessions ({time.perf_counter() - began:.0f} s)", flush=True)

    write_corpus(path, participants=participants, minutes=minutes, progress=progress)
    return {"reused": False, "synth_s": time.perf_counter() - began}


def _sizes(root: Path) -> dict:
    kinds = set(AUDIO_FILES) | set(FACE_FILES)
    total = used = biggest = 0
    for folder in root.glob("*_P"):
        pid = int(folder.name.split("_")[0])
        session = sum(p.stat().st_size for p in folder.iterdir())
        read = sum((folder / formats.session_file(pid, k)).stat().st_size for k in kinds)
        total, used, biggest = total + session, used + read, max(biggest, read)
    return {"corpus_mb": total / 1e6, "read_mb": used / 1e6, "biggest_session_mb": biggest / 1e6}


def _warm(root: Path) -> dict:
    """Read every file the phases read once, so that each phase finds them in memory.

    Otherwise whichever phase runs first after the corpus was written (or after other
    work) reads part of it from disk, and the speed-ups depend on the page cache more
    than on the code (the spread between earlier runs). A corpus larger than the free
    memory cannot be held whole; the figure printed says how long this reading took.
    """
    began, total = time.perf_counter(), 0
    kinds = set(AUDIO_FILES) | set(FACE_FILES)
    buffer = bytearray(8 << 20)
    paths = [root / name for name in (formats.TRAIN_LABELS, formats.DEV_LABELS)]
    for folder in sorted(root.glob("*_P")):
        pid = int(folder.name.split("_")[0])
        paths += [folder / formats.session_file(pid, kind) for kind in sorted(kinds)]
    for path in paths:
        if path.is_file():
            with open(path, "rb", buffering=0) as handle:
                while n := handle.readinto(buffer):
                    total += n
    return {"warm_mb": total / 1e6, "warm_s": time.perf_counter() - began}


def _parse_rates(root: Path) -> dict:
    """MB/s of our COVAREP parser and of pandas' C reader on the same bytes (the floor)."""
    import io

    from core.data import readers

    ours = pandas_c = 0.0
    total = 0
    for path in sorted(root.glob("*_P/*_COVAREP.csv")):
        data = path.read_bytes()
        total += len(data)
        began = time.perf_counter()
        readers.parse_covarep(data, path.name)
        ours += time.perf_counter() - began
        began = time.perf_counter()
        pd.read_csv(io.BytesIO(data), header=None, engine="c", dtype=np.float64)
        pandas_c += time.perf_counter() - began
    return {"parse_mb_s": total / 1e6 / ours, "pandas_c_mb_s": total / 1e6 / pandas_c}


def main(argv: list[str] | None = None) -> int:
    """Generate or reuse a corpus, time the three phases, print the table (and JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=60, metavar="N")
    parser.add_argument("--minutes", type=float, default=1.0, metavar="M")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="write or reuse the corpus here")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="daic-bench-"))
    try:
        root = args.keep or work / "corpus"
        made = _corpus(root, args.participants, args.minutes)
        sizes = _sizes(root)
        sessions = len(list(root.glob("*_P")))
        print(
            f"corpus {root}: {sessions} sessions, {sizes['corpus_mb']:.0f} MB "
            f"({sizes['read_mb']:.0f} MB read by audio+face; biggest session "
            f"{sizes['biggest_session_mb']:.1f} MB){' (reused)' if made['reused'] else ''}",
            flush=True,
        )
        warm = _warm(root)
        print(
            f"read every file once before timing: {warm['warm_mb']:.0f} MB in "
            f"{warm['warm_s']:.1f} s",
            flush=True,
        )
        figures = {}
        for name in ("baseline", "naive", "first", "cached"):
            figures[name] = run_phase(name, root, work / "cache", work / f"{name}.npz")
            print(f"  {name:8s} {figures[name]['seconds']:8.2f} s", flush=True)
        rates = _parse_rates(root)
        _compare(work / "naive.npz", work / "first.npz", "naive vs first")
        _compare(work / "first.npz", work / "cached.npz", "first vs cached")
    finally:  # the corpus survives only under --keep
        shutil.rmtree(work, ignore_errors=True)

    naive, first, cached = (figures[k]["seconds"] for k in ("naive", "first", "cached"))
    print()
    print(
        f"{'phase':10s}"
        + "".join(f"{h:>10s}" for h in ("seconds", "audio s", "face s", "speed-up", "peak MB"))
    )
    for name in ("naive", "first", "cached"):
        f = figures[name]
        print(
            f"{name:10s}{f['seconds']:10.3f}{f['audio_s']:10.3f}{f['face_s']:10.3f}"
            f"{naive / f['seconds']:9.1f}x{f['peak_mb']:10.0f}"
        )
    print(
        "peak MB: every process of the phase together (worker processes included); "
        f"imports alone peak at {figures['baseline']['peak_mb']:.0f} MB; windows "
        f"{figures['first']['windows_mb']:.1f} MB; corpus {sizes['corpus_mb']:.0f} MB, biggest "
        f"session {sizes['biggest_session_mb']:.1f} MB read; windows identical across phases"
    )
    first_mb_s = sizes["read_mb"] / first
    print(
        f"COVAREP parsing, one thread: ours {rates['parse_mb_s']:.0f} MB/s, pandas' C reader "
        f"{rates['pandas_c_mb_s']:.0f} MB/s on the same files; the first extraction read "
        f"{first_mb_s:.0f} MB/s of files (audio and face, {cores()} cores, load "
        f"{os.getloadavg()[0]:.1f} at the end)"
    )
    summary = {
        "participants": sessions,
        "cores": cores(),
        "load_1min": round(os.getloadavg()[0], 2),
        "first_mb_s": round(first_mb_s, 1),
        "minutes": None if made["reused"] else args.minutes,
        "naive_s": round(naive, 4),
        "first_s": round(first, 4),
        "cached_s": round(cached, 4),
        "speedup_first": round(naive / first, 2),
        "speedup_cached": round(naive / cached, 2),
        **{
            f"{phase}_{modality}_s": round(figures[phase][f"{modality}_s"], 4)
            for phase in ("naive", "first", "cached")
            for modality in ("audio", "face")
        },
        "peak_mb_naive": round(figures["naive"]["peak_mb"], 1),
        "peak_mb_first": round(figures["first"]["peak_mb"], 1),
        "peak_mb_cached": round(figures["cached"]["peak_mb"], 1),
        "peak_mb_imports": round(figures["baseline"]["peak_mb"], 1),
        "peak_mb_first_main_process": round(figures["first"]["main_peak_mb"], 1),
        "windows_mb": round(figures["first"]["windows_mb"], 1),
        **{k: round(v, 1) for k, v in sizes.items()},
        **{k: round(v, 1) for k, v in rates.items()},
        **{k: round(v, 1) for k, v in warm.items()},
    }
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
