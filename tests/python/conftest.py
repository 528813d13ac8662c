"""Fixtures for the Python package's tests (run by ctest through /usr/bin/python3 -m pytest,
with PYTHONPATH at <build>/python and IPCX_CLI naming the C++ command-line tool)."""

import os
import subprocess
import sys
import time

import pytest

# Every mechanism a request/reply server binds by URL (stdio:// is reached by spawn instead).
MECHANISMS = ["unix", "tcp", "shm", "pipe", "mq", "udp"]


@pytest.fixture
def cli():
    path = os.environ.get("IPCX_CLI")
    if not path:
        pytest.skip("IPCX_CLI is not set")
    return path


def private_url(mechanism, tmp_path, name):
    """A URL of `mechanism` that no other test or process uses."""
    tag = f"ipcx-py-{os.getpid()}-{name}"
    return {
        "unix": f"unix://{tmp_path}/{name}.sock",
        "tcp": "tcp://127.0.0.1:0",
        "udp": "udp://127.0.0.1:0",
        "shm": f"shm://{tag}",
        "pipe": f"pipe://{tmp_path}/{name}",
        "mq": f"mq://{tag}",
    }[mechanism]


class Child:
    """A process the test started: its stdout read line by line, ended by PID at teardown."""

    def __init__(self, argv, **kwargs):
        import queue
        import threading

        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, **kwargs)
        self.lines = queue.Queue()
        # A reader thread, not select() and readline(): readline buffers lines select() then
        # no longer sees.
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def line(self, deadline_s=30):
        """The next line of its stdout; fails the test rather than hang."""
        import queue

        try:
            return self.lines.get(timeout=deadline_s)
        except queue.Empty:
            pytest.fail(f"{self.process.args}: no output within {deadline_s} s")

    def end(self, sig=None):
        if self.process.poll() is None:
            if sig is None:
                self.process.terminate()
            else:
                self.process.send_signal(sig)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture
def children():
    started = []

    def start(argv, **kwargs):
        child = Child(argv, **kwargs)
        started.append(child)
        return child

    yield start
    for child in started:
        child.end()


def python_argv(*args):
    """argv running this same interpreter with the package importable."""
    return [sys.executable, *args]


def eventually(predicate, deadline_s=30, pause_s=0.01):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(pause_s)
    return predicate()
