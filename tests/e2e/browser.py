"""What every browser test needs: Debian's chromium, Playwright, the flags, a free port.

A module calls :func:`require_browser` at import: without chromium or Playwright it is
skipped, except in CI, where the browser tests must run and their absence fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - only without the dev requirements
    expect = sync_playwright = None


def require_browser() -> None:
    """Skip the calling module when there is no browser to drive (fail it in CI)."""
    if sync_playwright is None or not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium and playwright for the browser test")
        pytest.skip("needs Debian's chromium and playwright", allow_module_level=True)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def press_until(button, done: Callable[[], bool], what: str, attempts: int = 3) -> None:
    """Press ``button`` until ``done()`` holds, pressing again only when a press was lost.

    On a loaded machine, a click that lands while the page's script reruns was once lost
    (nothing was started and the page said so). A user would press again; the tests do
    the same, and only then: ``done`` is given 20 s after each press.
    """
    for _ in range(attempts):
        button.click()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if done():
                return
            time.sleep(0.25)
    pytest.fail(f"{what} after pressing {attempts} times")
