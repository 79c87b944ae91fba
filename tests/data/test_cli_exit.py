"""The data command line ends its process itself, after its output and exit hooks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = """
import atexit, sys
from core.data.__main__ import exit_now
atexit.register(lambda: print("exit hook ran", flush=True))
print("result", end="")  # unflushed: exit_now must flush it
sys.stderr.write("a note")
exit_now(3)
"""


@pytest.mark.slow
def test_exit_now_keeps_the_code_the_output_and_the_exit_hooks():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3
    assert done.stdout == "resultexit hook ran\n"
    assert done.stderr == "a note"
