"""Sessions under load, and sessions that come and go: the `load` section of `make bench`.

* **load** — N concurrent websocket sessions (benchmarks/wsclient.py, no browser), each moving
  lesson 1's `w` slider once every `interval` s for `seconds` s and waiting for the server's
  reply (the point on the curve moves there). Figures: interactions, replies, errors, reply
  latency p50 / p95 / max. Target: zero errors, a reply for every interaction.
* **leak** — open and close N sessions, `rounds` times; every tenth session also opens
  lesson 3 and clicks Forward (a periodic callback is running when it closes). Figures: the
  server's RSS and thread count after each round, once the server has discarded the sessions.
  Target: ≤ 20 MB RSS growth after the first round, no thread growth.

tests/reliability/ runs the same functions with fewer sessions; `make bench` runs the full
200 sessions × 60 s and 200 sessions × 3 rounds against a `downhill` subprocess.
"""

import asyncio
import itertools
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.servers import terminate
from benchmarks.wsclient import BokehSession

TITLE = "Sessions: load and leaks (websocket client, no browser)"
ROOT = Path(__file__).resolve().parent.parent

LOAD_SESSIONS, LOAD_SECONDS, LOAD_INTERVAL = 200, 60.0, 2.0
LEAK_SESSIONS, LEAK_ROUNDS = 200, 3
LEAK_RSS_LIMIT = 20e6  # bytes of growth allowed after the first round
OPEN_CONCURRENCY = 8  # pages built at once while sessions ramp up (a lecture hall arriving)
W_VALUES = (-2.5, -1.5, -0.5, 0.5, 1.5, 2.5)


# --------------------------------------------------------------------------------------------
# Interactions


def point_w(session):
    data = session.get(session.find(name="derivative-point"))["data"]
    return float(np.asarray(data["w"])[0])


async def move_w(session, value, timeout=30.0):
    """Lesson 1: drag `w` to `value`; return the seconds until the point on the curve is
    there (the server's reply patch)."""
    slider = session.find(title="w", type="Slider")
    started = time.perf_counter()
    await session.set_value(slider, value, timeout=timeout)
    await session.wait_for(lambda: point_w(session) == value, timeout=timeout)
    return time.perf_counter() - started


async def open_session(url, timeout=120.0):
    """Open a session as a browser does: load the page, pull the document, then announce
    `document_ready` (BokehJS sends it once the page is rendered; Panel marks the session
    loaded then, and only a loaded session's callbacks dispatch their changes in Panel's
    way — without it a button callback's held changes reach Bokeh outside the document
    lock and fail with "_pending_writes should be non-None"). The page builds its open
    tab's lesson then (lesson 1 here): the session is open once its models are there."""
    session = await BokehSession.open(url, timeout=timeout)
    try:
        await session.ready(["derivative-point"], timeout=timeout)
    except BaseException:
        await session.close()
        raise
    return session


async def open_many(url, count, concurrency=OPEN_CONCURRENCY, timeout=120.0):
    """Open `count` sessions, at most `concurrency` page builds at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one():
        async with gate:
            return await open_session(url, timeout=timeout)

    return await asyncio.gather(*(one() for _ in range(count)))


# --------------------------------------------------------------------------------------------
# Load


@dataclass
class LoadResult:
    sessions: int
    seconds: float
    open_seconds: float = 0.0
    interactions: int = 0
    latencies: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    @property
    def replies(self):
        return len(self.latencies)

    def percentile(self, q):
        return float(np.percentile(self.latencies, q)) if self.latencies else float("nan")

    def summary(self):
        return (f"{self.sessions} sessions × {self.seconds:.0f} s: {self.interactions} "
                f"interactions, {self.replies} replies, {len(self.errors)} errors; latency "
                f"p50 {self.percentile(50) * 1e3:.0f} ms, p95 {self.percentile(95) * 1e3:.0f} "
                f"ms, max {max(self.latencies, default=float('nan')) * 1e3:.0f} ms; "
                f"opening took {self.open_seconds:.1f} s")


async def load(url, sessions=LOAD_SESSIONS, seconds=LOAD_SECONDS, interval=LOAD_INTERVAL,
               reply_timeout=30.0):
    """Every session interacts once per `interval` for `seconds`, all at once (each starts at
    a random phase so the interactions spread over the interval, as students' do)."""
    result = LoadResult(sessions=sessions, seconds=seconds)
    started = time.perf_counter()
    opened = await open_many(url, sessions)
    result.open_seconds = time.perf_counter() - started
    rng = np.random.default_rng(0)

    async def student(index, session):
        await asyncio.sleep(float(rng.uniform(0, interval)))
        values = itertools.cycle(W_VALUES[index % 2:] + W_VALUES[:index % 2])
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            tick = time.perf_counter()
            result.interactions += 1
            try:
                result.latencies.append(await move_w(session, next(values), reply_timeout))
            except Exception as error:  # a missing reply or a closed socket: count it
                result.errors.append(f"session {index}: {type(error).__name__}: {error}")
            result.errors.extend(f"session {index}: server ERROR {e}" for e in session.errors)
            session.errors.clear()
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - tick)))

    try:
        await asyncio.gather(*(student(i, s) for i, s in enumerate(opened)))
    finally:
        await asyncio.gather(*(s.close() for s in opened), return_exceptions=True)
    return result


# --------------------------------------------------------------------------------------------
# Churn (the leak test's rounds)

FORWARD_FRAME = re.compile(r"Forward, step [1-9]")


def animating(session):
    """Lesson 3's status says the Forward animation has revealed a gate (its periodic
    callback has ticked at least once)."""
    return any(FORWARD_FRAME.search(str(model["attributes"].get("text", "")))
               for model in session.models.values())


async def churn(url, sessions=LEAK_SESSIONS, concurrency=OPEN_CONCURRENCY, forward_every=10):
    """Open and close `sessions` sessions; each one moves `w` once (a real interaction),
    every `forward_every`-th also opens lesson 3 and clicks Forward, then closes while the
    animation's periodic callback runs. Returns the errors."""
    gate = asyncio.Semaphore(concurrency)
    errors = []

    async def one(index):
        async with gate:
            try:
                session = await open_session(url, timeout=120.0)
            except Exception as error:
                errors.append(f"open {index}: {type(error).__name__}: {error}")
                return
            doing = "move w"
            try:
                await move_w(session, W_VALUES[index % len(W_VALUES)], timeout=60.0)
                if forward_every and index % forward_every == 0:
                    doing = "open lesson 3"
                    await session.open_tab("Backpropagation", names=["circuit-wires"],
                                           timeout=60.0)
                    doing = "click Forward"
                    await session.click(session.find(label="Forward", type="Button"),
                                        timeout=60.0)
                    doing = "wait for the animation's first frame"
                    await session.wait_for(lambda: animating(session), timeout=60.0)
                errors.extend(f"session {index}: server ERROR {e}" for e in session.errors)
            except Exception as error:
                errors.append(f"session {index} ({doing}): {type(error).__name__}: {error}")
            finally:
                await session.close()

    await asyncio.gather(*(one(i) for i in range(sessions)))
    return errors


# --------------------------------------------------------------------------------------------
# `make bench`: a downhill subprocess, measured from outside


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_downhill(*extra):
    import urllib.request

    port = _free_port()
    command = [str(Path(sys.executable).with_name("downhill")), "--port", str(port),
               "--address", "127.0.0.1", "--no-browser", *extra]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/liveness", timeout=2):
                return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("downhill did not start")


def _settled_rss(process, seconds=30.0, at_least=4.0):
    """The server's RSS and thread count once the discarded sessions are gone: the server
    runs with `--session-lifetime 1` (a closed session is freed within ~1.5 s); wait at least
    `at_least` s, then until the RSS stops falling (at most `seconds`)."""
    started = time.monotonic()
    previous = process.memory_info().rss
    while time.monotonic() - started < seconds:
        time.sleep(1.0)
        current = process.memory_info().rss
        if abs(current - previous) < 1e6 and time.monotonic() - started > at_least:
            break
        previous = current
    return process.memory_info().rss, process.num_threads()


def run(repeats=1):
    """The section for benchmarks/run.py (one long run each: `repeats` is not used)."""
    import psutil

    rows = []
    proc, url = _start_downhill()
    try:
        result = asyncio.run(load(url))
        median = statistics.median(result.latencies) if result.latencies else None
        rows.append(dict(
            name=f"load: {result.sessions} sessions, 1 interaction / {LOAD_INTERVAL:.0f} s, "
                 f"{LOAD_SECONDS:.0f} s — reply latency p50",
            seconds=median, target_s=None,
            ok=not result.errors and result.replies == result.interactions,
            note=result.summary(),
        ))
        rows.append(dict(name="load: reply latency p95", seconds=result.percentile(95),
                         target_s=None, ok=None, note=""))
    finally:
        terminate(proc)

    proc, url = _start_downhill("--session-lifetime", "1")
    try:
        process = psutil.Process(proc.pid)
        figures = []
        errors = []
        for _round in range(LEAK_ROUNDS):
            errors += asyncio.run(churn(url, LEAK_SESSIONS))
            figures.append(_settled_rss(process))
        growth = figures[-1][0] - figures[0][0]
        rows.append(dict(
            name=f"leak: {LEAK_SESSIONS} sessions opened and closed × {LEAK_ROUNDS}",
            seconds=None, target_s=None,
            ok=not errors and growth <= LEAK_RSS_LIMIT and figures[-1][1] <= figures[0][1],
            note="server RSS after each round: "
                 + ", ".join(f"{rss / 1e6:.1f} MB" for rss, _ in figures)
                 + f" (growth after round 1: {growth / 1e6:+.1f} MB, limit 20 MB); threads "
                 + ", ".join(str(threads) for _, threads in figures)
                 + f"; {len(errors)} errors",
        ))
    finally:
        terminate(proc)
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
