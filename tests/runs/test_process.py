"""A run's process: identity by ID and create time, liveness, and ending it."""

import os
import signal
import subprocess
import sys
import textwrap

import psutil
import pytest

from core.runs.process import end_process, is_alive, start_time
from tests.runs.helpers import wait_for


def is_zombie(pid):
    return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_live_process_is_known_by_its_id_and_create_time():
    started = start_time(os.getpid())
    assert started == psutil.Process().create_time()
    assert is_alive(os.getpid(), started) and is_alive(os.getpid(), None)
    assert not is_alive(os.getpid(), started - 1)  # the ID recycled by another process
    assert not is_alive(None, None) and start_time(0) is None


@pytest.mark.slow
def test_zombie_and_reaped_processes_are_dead():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    wait_for(lambda: is_zombie(child.pid), 30, "the child to become a zombie")
    assert start_time(child.pid) is None  # not reaped yet, but dead
    child.wait()
    assert start_time(child.pid) is None


STUBBORN = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    print("ready", flush=True)
    time.sleep(60)
    """
)


@pytest.mark.slow
def test_end_process_terminates_then_kills_the_process_and_its_children():
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    wait_for(lambda: start_time(polite.pid), 30, "the child to start")
    assert end_process(polite.pid, start_time(polite.pid), timeout_s=5) == "SIGTERM"
    assert polite.wait(timeout=5) == -signal.SIGTERM  # its exit status is left to its parent

    stubborn = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE)
    assert stubborn.stdout.readline().strip() == b"ready"
    (grandchild,) = psutil.Process(stubborn.pid).children()
    assert end_process(stubborn.pid, start_time(stubborn.pid), timeout_s=0.2) == "SIGKILL"
    assert stubborn.wait(timeout=5) == -signal.SIGKILL
    wait_for(lambda: not grandchild.is_running() or is_zombie(grandchild.pid), 5, "grandchild")
    assert end_process(stubborn.pid, None) is None  # gone: nothing to do
