"""Corpus copies that tests may change without touching the shared fixtures."""

import os
import shutil
from pathlib import Path

TINY = ["--hidden-size", "8", "--window-s", "4", "--batch-size", "16", "--patience", "50"]


def linked_copy(corpus: Path, dest: Path) -> Path:
    """A corpus copy: session files hard-linked (cheap), label files copied."""
    shutil.copytree(corpus, dest, copy_function=os.link)
    for labels in dest.glob("*.csv"):
        text = labels.read_text()
        labels.unlink()  # never write through a link into the shared corpus
        labels.write_text(text)
    return dest


def replace_file(path: Path, text: str) -> None:
    """Give ``path`` new content as a new file (a linked original stays as it was)."""
    new = path.with_name(path.name + ".new")
    new.write_text(text)
    os.replace(new, path)


def copy_run(run_dir: Path, dest: Path) -> Path:
    """A copy of a run folder (its configuration still names its corpus)."""
    shutil.copytree(run_dir, dest)
    return dest
