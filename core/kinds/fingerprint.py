"""What a run was made from, as fingerprints, and what changed since.

A run's result depends on its corpus (the label files, which participants train and
validate, their session files) and, for a fusion run, on its source runs' models. Every
checkpoint stores :func:`corpus_fingerprint` in ``config["data"]["fingerprint"]`` (a
text run in ``model.json``); a fusion run stores :func:`source_models`, the sha256 of
each source run's model file. :func:`corpus_changes` and :func:`source_changes` say,
in words, what differs now: resuming on a changed corpus is refused
(``core.train --resume``), and a fusion whose source changed refuses to score.

Session files are identified by content, cheaply: a folder's file by its XXH3 hash
(:data:`core.data.cache.CONTENT_HASH`; fingerprints recorded before it was used name no
hash and are compared by SHA-1), which the frame cache remembers by path, size,
modification time and inode (:class:`core.data.cache.ContentHashes`), an archive member
by its CRC-32 and size.
Light to import: no torch, no scikit-learn.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

SPLITS = ("train", "dev")
"""The participants a run trains and early-stops on."""


def _label_files() -> tuple[str, ...]:
    from core.data import formats

    return (formats.TRAIN_LABELS, formats.DEV_LABELS, formats.TEST_LABELS_FULL, formats.TEST_IDS)


@functools.lru_cache(maxsize=1024)
def _sha256(path: str, size: int, mtime_ns: int, inode: int) -> str:
    """sha256 of a file, remembered while its size, modification time and inode stay."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes (computed once per version of the file in a process).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    """
    stat = os.stat(path)
    return _sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)


def labels_digest(root: str | os.PathLike) -> str:
    """One sha256 over the corpus's label files (a missing file counts as missing)."""
    digest = hashlib.sha256()
    for name in _label_files():
        path = Path(root) / name
        found = file_sha256(path) if path.is_file() else "missing"
        digest.update(f"{name}:{found}\n".encode())
    return digest.hexdigest()


def _session_digest(source: Any, kinds: Sequence[str] | None, hashes: Any, name: str) -> str:
    """A short digest of one session's files of ``kinds`` (all when None), by content.

    ``name`` is the hash of a folder file's bytes (see :data:`core.data.cache.HASHES`).
    """
    if source is None:
        return "no session"
    identity = []
    for kind in sorted(source.members):
        if kinds is not None and kind not in kinds:
            continue
        member = source.members[kind]
        if source.is_archive:  # (archive, size, mtime, member, CRC-32, member size)
            identity.append([kind, member, *source.identities[kind][-2:]])
        else:
            identity.append([kind, member, hashes.digest(source.location / member, name=name)])
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]


def corpus_fingerprint(
    corpus: Any, file_kinds: Iterable[str] | None = None, content_hash: str | None = None
) -> dict[str, Any]:
    """What a run trained on: label files, participants and their session files.

    Parameters
    ----------
    corpus : core.data.Corpus
        The run's corpus, with its split assignment applied
        (:func:`core.config.open_corpus`).
    file_kinds : iterable of str, optional
        The session file kinds the run reads (``covarep``, ``transcript``, ...); all
        when None.
    content_hash : str, optional
        The hash of a folder file's bytes; default
        :data:`core.data.cache.CONTENT_HASH`.

    Returns
    -------
    dict
        ``labels`` (sha256 of the label files), ``participants`` (per split of
        :data:`SPLITS`, the sorted labelled IDs), ``file_kinds`` (sorted, or None),
        ``content_hash`` and ``sessions`` (participant ID, as a string, to a digest of
        its files).
    """
    from core.data.cache import CONTENT_HASH, FrameCache

    content_hash = content_hash or CONTENT_HASH
    kinds = None if file_kinds is None else sorted(set(file_kinds))
    participants = {split: sorted(corpus.ids(split, labelled=True)) for split in SPLITS}
    hashes = FrameCache().hashes
    sessions = {
        str(pid): _session_digest(corpus.participants[pid].source, kinds, hashes, content_hash)
        for pid in sorted(set().union(*participants.values()))
    }
    hashes.flush()
    return {
        "labels": labels_digest(corpus.root),
        "participants": participants,
        "file_kinds": kinds,
        "content_hash": content_hash,
        "sessions": sessions,
    }


def _listed(ids: Iterable[Any], most: int = 8) -> str:
    ids = sorted(ids, key=int)
    return ", ".join(map(str, ids[:most])) + (
        f" and {len(ids) - most} more" if len(ids) > most else ""
    )


def corpus_changes(saved: dict[str, Any] | None, corpus: Any) -> list[str]:
    """What differs between a saved :func:`corpus_fingerprint` and ``corpus`` now.

    Parameters
    ----------
    saved : dict or None
        The fingerprint a checkpoint stored; None (a run saved before fingerprints were
        recorded) compares as unchanged.
    corpus : core.data.Corpus
        The corpus now, with the run's split assignment applied.

    Returns
    -------
    list of str
        One sentence per difference; empty when nothing changed.
    """
    if not saved:
        return []
    # a fingerprint that names no hash was recorded when folder files were SHA-1 hashed
    now = corpus_fingerprint(corpus, saved.get("file_kinds"), saved.get("content_hash", "sha1"))
    changes = []
    if now["labels"] != saved.get("labels"):
        changes.append("the label files changed")
    for split in SPLITS:
        before, after = (
            set(saved.get("participants", {}).get(split, [])),
            set(now["participants"][split]),
        )
        if added := after - before:
            changes.append(f"{split} participants added: {_listed(added)}")
        if removed := before - after:
            changes.append(f"{split} participants removed: {_listed(removed)}")
    sessions = saved.get("sessions", {})
    edited = [pid for pid, digest in now["sessions"].items() if sessions.get(pid, digest) != digest]
    if edited:
        changes.append(f"session files changed for participants {_listed(edited)}")
    return changes


def source_models(sources: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each source run's model file and its sha256, as a fusion run stores them.

    Parameters
    ----------
    sources : dict
        Modality to source run folder.

    Returns
    -------
    dict
        Modality to ``{"run": folder, "file": name, "sha256": digest}``.

    Raises
    ------
    FileNotFoundError
        A source run has no model.
    """
    from core.kinds import kind_of

    models = {}
    for modality, run_dir in sources.items():
        path = kind_of(run_dir).model_file(Path(run_dir), "best")
        if path is None:
            raise FileNotFoundError(f"the {modality} run {run_dir} has no saved model")
        models[modality] = {"run": str(run_dir), "file": path.name, "sha256": file_sha256(path)}
    return models


def source_changes(saved: dict[str, dict[str, str]] | None) -> dict[str, str]:
    """Which source runs' models differ from those a fusion run was trained on, and how.

    Parameters
    ----------
    saved : dict or None
        The fusion's :func:`source_models`; None (a fusion run saved before they were
        recorded) compares as unchanged.

    Returns
    -------
    dict
        Modality to what changed; empty when every source is as it was.
    """
    from core.kinds import kind_of

    changes = {}
    for modality, model in (saved or {}).items():
        run_dir = Path(model["run"])
        name = f"the {modality} run {run_dir.name}"
        try:
            path = kind_of(run_dir).model_file(run_dir, "best")
        except (OSError, ValueError, KeyError):
            path = None
        if path is None or not path.is_file():
            changes[modality] = f"{name} no longer has its model"
        elif path.name != model["file"] or file_sha256(path) != model["sha256"]:
            changes[modality] = f"{name} was retrained or resumed since (its {path.name} changed)"
    return changes
