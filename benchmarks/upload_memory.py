"""Peak memory of checking an uploaded session, against the upload memory budget.

Usage::

    python benchmarks/upload_memory.py [--sizes MB,MB,...] [--json]

Each upload is checked by :func:`core.data.upload.open_upload` in a fresh process, whose
peak resident memory (``VmHWM``, reset just before the call) less its resident memory
before the call is the figure. Two kinds of upload, built from a synthetic session:

- **dense**: its COVAREP file replaced by rows of one-digit cells (``0,0,...``), the
  densest text there is (each two bytes become an 8-byte number), of each size in
  ``--sizes`` (default 25, 100, 200 MB);
- **real-like**: a synthetic 5-minute session as the generator writes it.

It prints the session files' size, the peak, and the peak per byte, which
:data:`core.data.upload.PARSE_BYTES_PER_BYTE` must bound; ``at_limit_gb`` is the worst
figure times :data:`~core.data.upload.MAX_UNPACKED_BYTES` (the most an upload may
declare), to compare with :data:`~core.data.upload.UPLOAD_MEMORY_BUDGET`. Last, a zip of
a few MB whose directory declares 1.99 GB is offered, and the time to refuse it printed.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core.data.upload import (  # noqa: E402
    MAX_UNPACKED_BYTES,
    PARSE_BYTES_PER_BYTE,
    UPLOAD_MEMORY_BUDGET,
    open_upload,
)

CHILD = """
import io, sys, tempfile, zipfile
from pathlib import Path
from core.data.upload import open_upload
session, dense_bytes = Path(sys.argv[1]), int(sys.argv[2])
files = {p.name: p.read_bytes() for p in sorted(session.iterdir())}
pid = session.name.split("_")[0]
if dense_bytes:
    line = b",".join([b"0"] * 74) + b"\\n"
    files[pid + "_COVAREP.csv"] = line * (dense_bytes // len(line))
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
    for name, data in files.items():
        archive.writestr(name, data)
data, files = buffer.getvalue(), None
def memory(field):
    line = next(l for l in open("/proc/self/status") if l.startswith(field))
    return int(line.split()[1]) * 1024
before = memory("VmRSS")
Path("/proc/self/clear_refs").write_text("5")
upload = open_upload(data, pid + "_P.zip", Path(tempfile.mkdtemp()) / "w")
with zipfile.ZipFile(io.BytesIO(data)) as archive:
    members = upload.corpus.source(upload.pid).members.values()
    size = sum(archive.getinfo(member).file_size for member in members)
print(size, memory("VmHWM") - before, len(data))
"""


def measure(session: Path, dense_bytes: int) -> dict:
    """Check one upload in a fresh process; its session files' size and peak memory."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(session), str(dense_bytes)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode:
        raise RuntimeError(f"checking the upload failed:\n{done.stderr[-2000:]}")
    size, peak, zipped = map(int, done.stdout.split())
    return {"files_mb": size / 1e6, "zip_mb": zipped / 1e6, "peak_mb": peak / 1e6}


def refuse_declared_bomb(session: Path) -> tuple[float, float, str]:
    """A zip of the session whose directory declares 1.99 GB: its size, refusal time, why."""
    buffer = io.BytesIO()
    pid = session.name.split("_")[0]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(session.iterdir()):
            archive.writestr(path.name, path.read_bytes())
        archive.getinfo(f"{pid}_COVAREP.csv").file_size = 1_990_000_000
    data = buffer.getvalue()
    started = time.perf_counter()
    try:
        open_upload(data, f"{pid}_P.zip", Path(tempfile.mkdtemp()) / "w")
    except Exception as error:  # noqa: BLE001 - the refusal is the figure
        return len(data) / 1e6, time.perf_counter() - started, str(error)
    raise AssertionError("the 1.99 GB declaration was accepted")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="25,100,200", help="dense COVAREP sizes in MB")
    parser.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    args = parser.parse_args(argv)
    from core.data.synth import write_corpus

    rows = []
    with tempfile.TemporaryDirectory(prefix="upload-memory-") as work:
        root = Path(work) / "daic"
        write_corpus(root, participants=6, minutes=5, seed=1)
        session = sorted(root.glob("*_P"))[0]
        rows.append({"upload": "real-like 5 min", **measure(session, 0)})
        for mb in map(float, args.sizes.split(",")):
            rows.append({"upload": f"dense {mb:g} MB", **measure(session, int(mb * 1e6))})
        bomb_mb, bomb_s, why = refuse_declared_bomb(session)
    worst = max(row["peak_mb"] / row["files_mb"] for row in rows)
    print(f"{'upload':>18} {'zip MB':>8} {'files MB':>9} {'peak MB':>8} {'per byte':>9}")
    for row in rows:
        per_byte = row["peak_mb"] / row["files_mb"]
        print(
            f"{row['upload']:>18} {row['zip_mb']:8.1f} {row['files_mb']:9.1f} "
            f"{row['peak_mb']:8.0f} {per_byte:9.2f}"
        )
    figures = {
        "rows": rows,
        "worst_per_byte": worst,
        "bound_per_byte": PARSE_BYTES_PER_BYTE,
        "max_unpacked_mb": MAX_UNPACKED_BYTES / 1e6,
        "at_limit_gb": worst * MAX_UNPACKED_BYTES / 1e9,
        "budget_gb": UPLOAD_MEMORY_BUDGET / 1e9,
        "declared_bomb_zip_mb": bomb_mb,
        "declared_bomb_refused_s": bomb_s,
    }
    print(
        f"worst {worst:.2f} bytes per byte (bound {PARSE_BYTES_PER_BYTE}); at the "
        f"{MAX_UNPACKED_BYTES / 1e6:.0f} MB limit: {figures['at_limit_gb']:.2f} GB of a "
        f"{UPLOAD_MEMORY_BUDGET / 1e9:.2f} GB budget"
    )
    print(f"a {bomb_mb:.1f} MB zip declaring 1.99 GB: refused in {bomb_s:.3f} s ({why[:90]}...)")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
