"""Start the servers a benchmark compares on free ports, and stop them by PID.

KINDS: "app" (the real `downhill` command), "panel" (no-op Panel baseline) and "bokeh"
(pure-Bokeh baseline), the last two through benchmarks/serve_baseline.py with the same server
start-up as the app; and "panel-stock" (the same no-op Panel page on Panel as it ships, none of
the app's start-up: only the session-cost ratio uses it).
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
STOCK = "panel-stock"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(proc, url, what, timeout=90.0):
    """Poll `url` until it answers 200; raise if `proc` exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=30) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not answer within {timeout} s")


def cpu_seconds(processes):
    """User + system CPU seconds of these psutil processes so far (gone ones count 0)."""
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def rss_bytes(processes):
    """The summed resident memory of these psutil processes."""
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


class Server:
    """One server process (and, with num_procs > 1, its forked workers)."""

    def __init__(self, kind, num_procs=1, port=None, origins=()):
        """`origins`: more HOST:PORT origins allowed to open the websocket (a front end's)."""
        self.kind, self.num_procs = kind, num_procs
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        allowed = [f"127.0.0.1:{self.port}", *origins]
        if kind == "app":
            command = [str(Path(sys.executable).with_name("downhill")), "--port", str(self.port),
                       "--address", "127.0.0.1", "--no-browser",
                       "--num-procs", str(num_procs)]
            for origin in allowed:
                command += ["--allow-websocket-origin", origin]
        else:
            command = [sys.executable, str(ROOT / "benchmarks" / "serve_baseline.py"), kind,
                       str(self.port), str(num_procs), ",".join(origins)]
        self.proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        try:
            # /liveness, not the page: a GET of the page builds a session whose later
            # teardown (and Panel's full gc.collect 5 s after it) would land in whatever
            # the benchmark measures next.
            wait_until_up(self.proc, self.url + "liveness", f"{kind} server")
        except BaseException:
            self.stop()
            raise
        self.process = psutil.Process(self.proc.pid)

    def processes(self):
        """The server process and its workers (num_procs > 1 forks them)."""
        try:
            return [self.process, *self.process.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self):
        """User + system CPU of the serving processes so far."""
        return cpu_seconds(self.processes())

    def rss_bytes(self):
        return rss_bytes(self.processes())

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
        terminate(self.proc, children)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def terminate(proc, others=()):
    """SIGTERM `proc` (a Popen) and wait for it (SIGKILL after 15 s), then make sure each of
    `others` (psutil processes: its workers) is gone, killing what is left after 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    _gone, alive = psutil.wait_procs(list(others), timeout=10)
    for other in alive:
        other.kill()
