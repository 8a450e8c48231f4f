"""Start the servers a benchmark compares on free ports, and stop them by PID.

KINDS: "app" (the real `downhill` command), "panel" (no-op Panel baseline) and "bokeh"
(pure-Bokeh baseline), the last two through benchmarks/serve_baseline.py with the same server
start-up as the app.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("app", "panel", "bokeh")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server process (and, with num_procs > 1, its forked workers)."""

    def __init__(self, kind, num_procs=1, port=None):
        self.kind, self.num_procs = kind, num_procs
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        if kind == "app":
            command = [str(Path(sys.executable).with_name("downhill")), "--port", str(self.port),
                       "--address", "127.0.0.1", "--no-browser",
                       "--allow-websocket-origin", f"127.0.0.1:{self.port}",
                       "--num-procs", str(num_procs)]
        else:
            command = [sys.executable, str(ROOT / "benchmarks" / "serve_baseline.py"), kind,
                       str(self.port), str(num_procs)]
        self.proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self._wait_until_up()
        self.process = psutil.Process(self.proc.pid)

    def _wait_until_up(self, timeout=90.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited with {self.proc.returncode}")
            try:
                # /liveness, not the page: a GET of the page builds a session whose later
                # teardown (and Panel's full gc.collect 5 s after it) would land in whatever
                # the benchmark measures next.
                with urllib.request.urlopen(self.url + "liveness", timeout=30) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"{self.kind} server did not answer within {timeout} s")

    def processes(self):
        """The server process and its workers (num_procs > 1 forks them)."""
        try:
            return [self.process, *self.process.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self):
        """User + system CPU of the serving processes so far."""
        total = 0.0
        for process in self.processes():
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def rss_bytes(self):
        total = 0
        for process in self.processes():
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def stop(self):
        """Terminate the workers and the server, each by its PID."""
        children = []
        try:
            children = self.process.children(recursive=True) if hasattr(self, "process") else []
        except psutil.NoSuchProcess:
            pass
        for child in children:
            try:
                child.terminate()
            except psutil.NoSuchProcess:
                pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        _gone, alive = psutil.wait_procs(children, timeout=10)
        for child in alive:
            child.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
