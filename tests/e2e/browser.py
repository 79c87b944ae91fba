"""What every browser test needs: Debian's chromium, Playwright, the flags, a server.

A module calls :func:`require_browser` at import: without chromium or Playwright it is
skipped with one reason, except in CI, where the browser tests must run and their
absence fails. Nothing here imports another test module, so a skipped module never
leaves a half-imported one behind.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.runs.helpers import wait_for

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
SKIP_REASON = "browser tests need Debian's chromium (apt-get install chromium) and playwright"

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - only without the dev requirements
    expect = sync_playwright = None


def browser_available() -> bool:
    """Whether Playwright and Debian's chromium are both here."""
    return sync_playwright is not None and Path(CHROMIUM).exists()


def require_browser() -> None:
    """Skip the calling module when there is no browser to drive (fail it in CI)."""
    if not browser_available():
        if os.environ.get("CI"):
            pytest.fail(f"CI runs every browser test: {SKIP_REASON}")
        pytest.skip(SKIP_REASON, allow_module_level=True)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def foreign(requested: list[str]) -> list[str]:
    """The requested URLs whose host is not this machine's loopback server."""
    hosts = {url: urllib.parse.urlsplit(url).hostname for url in requested}
    return [url for url, host in hosts.items() if host is not None and host not in LOCAL_HOSTS]


def serve(env: dict[str, str], log: Path, *options: str) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run app.py`` on a free localhost port; wait until it is healthy."""
    port = free_port()
    argv = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    argv += ["--server.headless", "true", *options]
    out = open(log, "wb")  # noqa: SIM115 (the server writes it until it ends)
    server = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"

    def healthy() -> bool:
        if server.poll() is not None:
            raise AssertionError(f"the server ended: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_for(healthy, 60, "the Streamlit server to answer", poll_s=0.3)
    except BaseException:
        server.kill()
        raise
    return server, url


def shut_down(server: subprocess.Popen) -> None:
    """End a server started by :func:`serve` (SIGTERM, then SIGKILL after 20 s)."""
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=20)


def settled(page, timeout_ms: int = 90_000) -> None:
    """Wait until the page's script has finished its run (Streamlit's own run state).

    Interacting while a script run is busy is what a user does too, and must work; the
    tests wait so that each step's outcome is the outcome of that step alone.
    """
    app = page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')
    expect(app).to_have_count(1, timeout=timeout_ms)
