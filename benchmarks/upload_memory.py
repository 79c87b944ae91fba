"""Peak memory of checking an uploaded session, per format and worst case, against the budget.

Usage::

    python benchmarks/upload_memory.py [--mb MB] [--lie-mb MB] [--json]

Each upload is checked by :func:`core.data.upload.open_upload` in a fresh process, whose
peak resident memory (``VmHWM``, reset just before the call) less its resident memory
before the call (which already holds the uploaded bytes) is the figure. Every upload is
one file of a synthetic 5-minute session, replaced by a worst case, uploaded alone
(the session's files are checked one at a time, so a session's peak is its largest
file's); the first row is the whole session as the generator writes it:

- **dense**: the densest text a format has, of ``--mb`` MB (default 40): one-digit
  cells for the numeric tables (COVAREP, FORMANT, CLNF pose, the narrowest CLNF file, and
  AUs), the shortest lines for a
  transcript (``0<TAB>0<TAB>Ellie<TAB>ab``, each a new text object; and without text);
- **wide row**: a row of 10^6 fields (a transcript's tab-separated, COVAREP's commas);
- **lying header**: a member whose directory declares 5,000 bytes but that inflates to
  ``--lie-mb`` MB (default 1024) of zeros, compressed with deflate, and with bzip2;
- **declared**: a zip of a few MB whose directory declares a 1.99 GB COVAREP file, and
  one declaring a transcript just over the transcript's own limit.

It prints one row per case: the format, the worst case, the bytes the file holds
(inflated), the peak, the peak per byte of file and what became of the upload. Then, per
format, the worst bytes per byte measured beside the bound in
:data:`core.data.upload.BYTES_PER_BYTE`, the largest file the limits let through, and
that file's worst peak, to compare with :data:`~core.data.upload.UPLOAD_MEMORY_BUDGET`.
The figures include the reader's fixed cost (some 20 MB), so they fall slightly as
``--mb`` grows.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core.data import formats  # noqa: E402
from core.data.upload import (  # noqa: E402
    BYTES_PER_BYTE,
    MAX_UNPACKED_BYTES,
    UPLOAD_MEMORY_BUDGET,
    format_limit,
)

CHILD = """
import sys, tempfile, time
from pathlib import Path
from core.data.errors import DataError
from core.data.upload import open_upload
data = Path(sys.argv[1]).read_bytes()
def memory(field):
    line = next(l for l in open("/proc/self/status") if l.startswith(field))
    return int(line.split()[1]) * 1024
before = memory("VmRSS")
Path("/proc/self/clear_refs").write_text("5")
started = time.perf_counter()
try:
    upload = open_upload(data, sys.argv[2], Path(tempfile.mkdtemp()) / "w")
    outcome, problems = "accepted", upload.problems
except DataError as error:
    outcome, problems = "refused", [error.file + ": " + error.problem]
seconds = time.perf_counter() - started
# what the file under test got: its own problem (a refused session lists them all)
mine = [p for p in "; ".join(problems).split("; ") if sys.argv[3] + ":" in p]
why = mine[0].split(sys.argv[3] + ": ", 1)[1] if mine else "no problem"
if outcome == "refused" and not mine:  # refused as a whole (its directory), not the file
    why = problems[0].split(": ", 1)[1]
print(memory("VmHWM") - before, seconds, f"{outcome}: {why}")
"""

LIE = 5000
"""The size a lying header declares."""


def _dense(kind: str, size: int, text: bool = True) -> bytes:
    """The densest file of ``kind`` of about ``size`` bytes."""
    if kind == "transcript":
        line = b"0\t0\tEllie\tab\n" if text else b"0\t0\tEllie\n"
        head = "\t".join(formats.TRANSCRIPT_COLUMNS).encode() + b"\n"
        return head + line * (size // len(line))
    if kind in ("covarep", "formant"):
        width = len(formats.COVAREP_COLUMNS if kind == "covarep" else formats.FORMANT_COLUMNS)
        line = b",".join([b"0"] * width) + b"\n"
        return line * (size // len(line))
    columns = formats.CLNF_LEAD + formats.CLNF_FILES[kind][1]
    head = formats.CLNF_SEPARATOR.join(columns).encode() + b"\n"
    line = b",".join([b"1"] * len(columns)) + b"\n"  # "," alone reads as ", " does
    return head + line * (size // len(line))


def _wide(kind: str) -> bytes:
    """A file whose second row has 10^6 fields."""
    if kind == "transcript":
        head = "\t".join(formats.TRANSCRIPT_COLUMNS).encode() + b"\n"
        return head + b"1\t2\tEllie\thi\n" + b"3\t4\tEllie" + b"\tx" * 10**6 + b"\n"
    row = b",".join([b"0"] * len(formats.COVAREP_COLUMNS)) + b"\n"
    return row + b",".join([b"0"] * 10**6) + b"\n"


def _write_zip(
    path: Path,
    files: dict[str, bytes],
    replace: str | None = None,
    zeros: int = 0,
    method: int = zipfile.ZIP_DEFLATED,
    declare: int | None = None,
) -> int:
    """Write a session zip; return the size of the file ``replace`` really holds.

    ``replace`` gets ``zeros`` bytes of zeros (streamed, never held) and a directory
    entry declaring ``declare`` bytes.
    """
    size = len(files.get(replace, b""))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in files.items():
            if name == replace and zeros:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = method
                with archive.open(info, "w", force_zip64=zeros > 2**31) as out:
                    piece = bytes(1 << 20)
                    for _ in range(zeros >> 20):
                        out.write(piece)
                size = zeros
            else:
                archive.writestr(name, data)
        if declare is not None:
            archive.getinfo(replace).file_size = declare  # the directory zipfile trusts
    return size


def measure(zip_path: Path, name: str, member: str) -> tuple[int, float, str]:
    """Check one upload in a fresh process: its peak memory, seconds and outcome."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(zip_path), name, member],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode:
        raise RuntimeError(f"checking the upload failed:\n{done.stderr[-2000:]}")
    peak, seconds, outcome = done.stdout.strip().split(" ", 2)
    return int(peak), float(seconds), outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=40, help="size of the dense files, MB")
    parser.add_argument("--lie-mb", type=int, default=1024, help="what a lying member holds")
    parser.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    args = parser.parse_args(argv)
    from core.data.synth import write_corpus

    dense = int(args.mb * 1e6)
    rows = []
    with tempfile.TemporaryDirectory(prefix="upload-memory-") as work:
        root = Path(work) / "daic"
        write_corpus(root, participants=6, minutes=5, seed=1)
        session = sorted(root.glob("*_P"))[0]
        pid = int(session.name.split("_")[0])
        files = {p.name: p.read_bytes() for p in sorted(session.iterdir())}

        def case(kind, worst, data=None, **zip_args) -> None:
            # the file under test alone, so the peak is its own (the session's other
            # files are checked one at a time, each to its own, lower, peak)
            name = formats.session_file(pid, kind) if kind in formats.SESSION_FILES else None
            upload = files if name is None else {name: files[name] if data is None else data}
            path = Path(work) / "upload.zip"
            size = _write_zip(path, upload, replace=name, **zip_args)
            if kind == "session":
                size = sum(len(d) for n, d in files.items() if n in _session_names(pid))
            elif zip_args.get("declare") and not zip_args.get("zeros"):
                size = zip_args["declare"]  # what the directory claims; nothing is read
            peak, seconds, outcome = measure(path, f"{pid}_P.zip", name or f"{pid}_P.zip")
            rows.append(
                {
                    "format": kind,
                    "worst case": worst,
                    "file_mb": size / 1e6,
                    "zip_mb": path.stat().st_size / 1e6,
                    "peak_mb": peak / 1e6,
                    "per_byte": peak / size,
                    "seconds": seconds,
                    "outcome": outcome,
                }
            )
            print(_line(rows[-1]), flush=True)

        print(_header())
        case("session", "real-like 5 min (all files)")
        for kind in ("covarep", "formant", "pose", "aus"):
            case(kind, f"dense, one-digit cells, {args.mb:g} MB", _dense(kind, dense))
        case("transcript", f"dense, shortest lines, {args.mb:g} MB", _dense("transcript", dense))
        case("transcript", f"dense, no text, {args.mb:g} MB", _dense("transcript", dense, False))
        case("transcript", "wide row, 10^6 fields", _wide("transcript"))
        case("covarep", "wide row, 10^6 fields", _wide("covarep"))
        lie = args.lie_mb << 20
        case("covarep", f"lying header: deflate, {LIE:,} B declared", zeros=lie, declare=LIE)
        bz2 = zipfile.ZIP_BZIP2
        bz2_lie = f"lying header: bzip2, {LIE:,} B declared"
        case("covarep", bz2_lie, zeros=lie, method=bz2, declare=LIE)
        case("covarep", "declares 1.99 GB", declare=1_990_000_000)
        case("transcript", "declares its limit + 1 MB", declare=format_limit("transcript") + 2**20)

    bounds = []
    for kind in ("covarep", "formant", "pose", "aus", "transcript"):
        # the dense files grow with their size; the other cases stop early, at a few MB
        measured = [r for r in rows if r["format"] == kind and r["worst case"][:5] == "dense"]
        worst = max(r["per_byte"] for r in measured)
        limit = min(format_limit(kind), MAX_UNPACKED_BYTES)
        bounds.append(
            {
                "format": kind,
                "worst_per_byte": worst,
                "bound_per_byte": BYTES_PER_BYTE[kind],
                "limit_mb": limit / 1e6,
                "peak_at_limit_gb": worst * limit / 1e9,
            }
        )
    print(f"\nbudget {UPLOAD_MEMORY_BUDGET / 1e9:.2f} GB (4 GiB)")
    print(f"{'format':>10} {'worst B/B':>9} {'bound':>5} {'limit MB':>8} {'worst peak GB':>13}")
    for b in bounds:
        print(
            f"{b['format']:>10} {b['worst_per_byte']:9.2f} {b['bound_per_byte']:5} "
            f"{b['limit_mb']:8.0f} {b['peak_at_limit_gb']:13.2f}"
        )
    if args.json:
        print(json.dumps({"rows": rows, "bounds": bounds}))
    return 0


def _session_names(pid: int) -> set[str]:
    return {formats.session_file(pid, kind) for kind in formats.SESSION_FILES}


def _header() -> str:
    return (
        f"{'format':>10} | {'worst case':<40} | {'file MB':>8} | {'zip MB':>7} | "
        f"{'peak MB':>8} | {'B/B':>6} | {'s':>5} | outcome"
    )


def _line(r: dict) -> str:
    return (
        f"{r['format']:>10} | {r['worst case']:<40} | {r['file_mb']:8.1f} | {r['zip_mb']:7.2f} | "
        f"{r['peak_mb']:8.1f} | {r['per_byte']:6.2f} | {r['seconds']:5.1f} | {r['outcome'][:90]}"
    )


if __name__ == "__main__":
    sys.exit(main())
