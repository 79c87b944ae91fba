"""Hand-written DAIC-WOZ fixtures: tiny session files in the exact distributed formats.

Tests reach the writers through the ``daic`` fixture (``daic.session(root, 300)``,
``daic.labels(root, train=[...])``); every writer returns what it wrote so a test can
corrupt one file and keep the rest.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.data import formats

LABEL_HEADER = ",".join(formats.TRAIN_DEV_LABEL_COLUMNS)

# --- one file each ---------------------------------------------------------------------


def transcript_bytes(rows: list[tuple[float, float, str, str]] | None = None) -> bytes:
    """A tab-separated transcript; by default a short exchange in the real style."""
    if rows is None:
        rows = [
            (0.5, 2.0, "Ellie", "hi i'm ellie thanks for coming in today"),
            (2.5, 4.0, "Participant", "<sync> hi [laughter]"),
            (4.2, 5.0, "Ellie", "how_doing (how are you doing today)"),
            (5.5, 9.0, "Participant", "i'm okay scrubbed_entry xxx"),
            (9.5, 10.0, "Ellie", "yeah3 (yeah)"),
        ]
    lines = ["\t".join(formats.TRANSCRIPT_COLUMNS)]
    lines += [f"{a:.3f}\t{b:.3f}\t{who}\t{text}" for a, b, who, text in rows]
    return ("\n".join(lines) + "\n").encode()


def covarep_row(voiced: bool = True) -> str:
    """One 74-column COVAREP row; an unvoiced row has VUV = 0 and zero glottal columns."""
    if voiced:
        values = ["112.5", "1", "0.31", "0.42", "5.1", "0.2", "0.1", "-0.3", "1.1", "0.9"]
    else:
        values = ["0", "0", "0", "0", "0", "0", "0", "0", "0", "0"]
    values.append("0")  # creak
    values += [f"{-1.5 + i / 10:.2f}" for i in range(63)]  # MCEP, HMPDM, HMPDD
    return ",".join(values)


def covarep_bytes(seconds: float = 5.0) -> bytes:
    """A header-less COVAREP file of ``seconds * 100`` rows, alternating voiced runs."""
    rows = int(round(seconds * formats.COVAREP_RATE_HZ))
    voiced, unvoiced = covarep_row(True), covarep_row(False)
    lines = [voiced if (i // 20) % 2 == 0 else unvoiced for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def formant_bytes(seconds: float = 5.0) -> bytes:
    """A header-less 5-column FORMANT file at 100 Hz."""
    rows = int(round(seconds * formats.COVAREP_RATE_HZ))
    return ("710.2,1220.5,2600.1,3400.7,4400.3\n" * rows).encode()


def clnf_bytes(
    kind: str, seconds: float = 5.0, success: bool | list[bool] = True, header: bool = True
) -> bytes:
    """A CLNF file (``", "`` separated, header line) with frames at 30 Hz up to ``seconds``."""
    columns = formats.CLNF_FILES[kind][1]
    frames = int(round(seconds * formats.CLNF_RATE_HZ))
    flags = [success] * frames if isinstance(success, bool) else list(success)
    sep = formats.CLNF_SEPARATOR
    lines = [sep.join(formats.CLNF_LEAD + columns)] if header else []
    for i, ok in enumerate(flags):
        values = [f"{0.1 * (j % 7):.3f}" if ok else "0" for j in range(len(columns))]
        lead = [str(i + 1), f"{i / formats.CLNF_RATE_HZ:.4f}", "0.98" if ok else "0", str(int(ok))]
        lines.append(sep.join(lead + values))
    return ("\n".join(lines) + "\n").encode()


# --- sessions and corpora --------------------------------------------------------------


def session_files(pid: int, seconds: float = 5.0, video_seconds: float | None = None) -> dict:
    """Every file of one clean session, by file name."""
    video = seconds if video_seconds is None else video_seconds
    files = {
        formats.session_file(pid, "transcript"): transcript_bytes(),
        formats.session_file(pid, "covarep"): covarep_bytes(seconds),
        formats.session_file(pid, "formant"): formant_bytes(seconds),
    }
    for kind in formats.CLNF_FILES:
        files[formats.session_file(pid, kind)] = clnf_bytes(kind, video)
    return files


def write_session(
    root: Path,
    pid: int,
    archive: bool = False,
    replace: dict[str, bytes | None] | None = None,
    extra: dict[str, bytes] | None = None,
    seconds: float = 5.0,
    video_seconds: float | None = None,
) -> Path:
    """Write one session as ``NNN_P/`` (or ``NNN_P.zip``) and return its path.

    ``replace`` maps a file kind (``"covarep"``, ``"aus"``...) to new contents, or None to
    leave that file out; ``extra`` adds files by name (``._300_TRANSCRIPT.csv``).
    """
    files = session_files(pid, seconds, video_seconds)
    for kind, data in (replace or {}).items():
        name = formats.session_file(pid, kind)
        if data is None:
            del files[name]
        else:
            files[name] = data
    files.update(extra or {})
    root.mkdir(parents=True, exist_ok=True)
    if archive:
        path = root / f"{formats.session_folder(pid)}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
            for name, data in files.items():
                out.writestr(name, data)
        return path
    path = root / formats.session_folder(pid)
    path.mkdir()
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path


def label_row(pid: int, binary: int, score: int, gender: int = 1, items=None) -> str:
    """One train/dev label row; items default to ones that sum to ``score``."""
    if items is None:
        items = [min(3, max(0, score - 3 * i)) for i in range(8)]
    return ",".join(str(v) for v in (pid, binary, score, gender, *items))


def write_labels(
    root: Path,
    train: list[str] | None = None,
    dev: list[str] | None = None,
    test: list[tuple[int, int, int, int]] | None = None,
    full_test: bool = True,
    test_id_column: str = "participant_ID",
) -> None:
    """Write the label files; ``None`` leaves a file out (``[]`` writes a header only).

    ``train``/``dev`` take :func:`label_row` strings, ``test`` takes
    ``(pid, binary, score, gender)`` tuples written to ``full_test_split.csv`` (with
    ``PHQ_Binary``/``PHQ_Score``) and, IDs and gender only, to the test split file.
    """
    root.mkdir(parents=True, exist_ok=True)
    for name, rows in ((formats.TRAIN_LABELS, train), (formats.DEV_LABELS, dev)):
        if rows is not None:
            (root / name).write_text("\n".join([LABEL_HEADER, *rows]) + "\n")
    if test is not None:
        ids = [f"{test_id_column},Gender", *(f"{p},{g}" for p, _, _, g in test)]
        (root / formats.TEST_IDS).write_text("\n".join(ids) + "\n")
        if full_test:
            full = [",".join(formats.FULL_TEST_COLUMNS)]
            full += [f"{p},{b},{s},{g}" for p, b, s, g in test]
            (root / formats.TEST_LABELS_FULL).write_text("\n".join(full) + "\n")


def write_corpus(root: Path, train=(300, 301), dev=(302,), test=(303,), archive=False) -> Path:
    """A small clean corpus: one depressed participant per split, sessions for all."""
    write_labels(
        root,
        train=[label_row(p, int(i == 0), 12 if i == 0 else 2) for i, p in enumerate(train)],
        dev=[label_row(p, int(i == 0), 15 if i == 0 else 3) for i, p in enumerate(dev)],
        test=[(p, int(i == 0), 11 if i == 0 else 1, 0) for i, p in enumerate(test)],
    )
    for pid in (*train, *dev, *test):
        write_session(root, pid, archive=archive)
    return root


@pytest.fixture(scope="session")
def daic() -> SimpleNamespace:
    """The fixture writers of this module."""
    return SimpleNamespace(
        transcript=transcript_bytes,
        covarep=covarep_bytes,
        covarep_row=covarep_row,
        formant=formant_bytes,
        clnf=clnf_bytes,
        session_files=session_files,
        session=write_session,
        label_row=label_row,
        labels=write_labels,
        corpus=write_corpus,
    )
