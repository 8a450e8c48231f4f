"""Benchmark section "hall" (issue 14): a lecture hall of students tapping lesson 2's landscape.

For the app and for the no-op Panel app (benchmarks/baselines/panel_noop.py), run the same way:

* **through nginx**: Debian nginx configured from deploy/nginx.conf (cookie affinity, websocket
  upgrade; benchmarks/nginx.py) in front of one server process per core, each started as
  deploy/nginx.conf documents a replica (the app: `downhill --port P --address 127.0.0.1
  --no-browser --allow-websocket-origin FRONT`; the baseline: benchmarks/serve_baseline.py, the
  same server start-up);
* **one process**, no nginx.

N sessions (benchmarks/wsclient.py: the Bokeh protocol, no browsers) join spread evenly over
the ramp (60 s), opening `/?tab=descent` as the link a lecturer hands out (the app builds
lesson 2 for it), each with cookies of its own as a browser on its first visit (the page's
reply sets nginx's affinity cookie, the websocket upgrade sends it back); then, once every
join has ended, each taps the landscape once every 2 s for the window (30 s): a Bokeh `tap`
event on `landscape-figure`, as BokehJS sends it, timed until the server's patch puts
`landscape-path`'s first point where the tap was (app and baseline both move the path's start
there).

Figures: join time (arrival → lesson 2 in the client: page, document, and the lesson the app
builds on document_ready), tap → path latency, errors (failed joins + unanswered taps), RSS
per session (summed over the server processes), taps answered per second, the server CPU per
tap (psutil CPU of the server processes during the tap window / taps answered), and the CPU
the load generator (this one asyncio process) and nginx took. Everything runs on the same
cores; every process started is stopped by PID, workers too, also on error.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import psutil

from benchmarks.load import OPEN_CONCURRENCY
from benchmarks.nginx import Nginx
from benchmarks.servers import Server, cpu_seconds, free_port, rss_bytes
from benchmarks.sessions import row
from benchmarks.wsclient import BokehSession

GC_LOG = "DOWNHILL_GC_LOG"  # app/server.py's: where a server logs its collections

TITLE = "The lecture hall: N sessions tapping lesson 2's landscape (nginx, one process per core)"
MB = 1 << 20
PATH = "?tab=descent"  # the app builds lesson 2 for this link; the baseline ignores it
PERIOD_S = 2.0  # one tap per student every 2 s
RAMP_S, WINDOW_S = 60.0, 30.0
FRONT_SESSIONS, SINGLE_SESSIONS = 300, 200
QUICK = dict(front=12, single=8, ramp_s=6.0, window_s=6.0)
# A join not done by then, counted from the student's arrival, is a failed one (a student who
# gave up); the join p95 shows how long the others waited.
JOIN_TIMEOUT_S = 300.0
# At most this many joins in flight at once (a queue at the door; the wait counts in the join
# time), as load.py opens its sessions. Without it, a server that cannot build pages as fast as
# students arrive answers almost none: every websocket step of a join waits behind all the page
# builds queued before it (300 app students in 60 s through nginx: 18 joined in 370 s), which
# leaves no hall to tap. 0: no door.
DOOR = OPEN_CONCURRENCY
TAP_TIMEOUT_S = 30.0  # a tap not answered by then counts as unanswered
IDLE_S = 5.0  # server CPU with everybody joined and nobody tapping, before the taps
# Inside both landscapes' view (-5..5); a session alternates between them, so every tap moves
# the start (the first one from the default start (4, 3)).
TAPS = ((1.5, 1.0), (-1.0, 1.5))
# The replica that answered, on every response: pairs a page with its websocket. The only
# change to deploy/nginx.conf's location block.
UPSTREAM_HEADER = "add_header X-Upstream $upstream_addr always;"
TARGETS = {  # the app's targets (issue 14) on this 2-core machine, by configuration
    True: dict(p95_ms=250.0, ratio=1.5),  # through nginx, one process per core
    False: dict(p95_ms=150.0, ratio=None),  # one process, no nginx
}


@dataclass
class Hall:
    """One hall: a kind of server, N sessions, its figures."""

    kind: str
    sessions: int
    processes: int
    front: bool  # through nginx
    ramp_s: float = RAMP_S
    window_s: float = WINDOW_S
    period_s: float = PERIOD_S
    door: int = DOOR  # joins in flight at once (0: unlimited)
    cookies: bool = True  # students keep cookies (False: browsers that block them)
    join_times: list = field(default_factory=list)
    join_errors: list = field(default_factory=list)
    join_wall_s: float = math.nan  # first GET → last join ended
    crossed: int = 0  # sessions whose page and websocket reached different replicas
    by_replica: dict = field(default_factory=dict)  # websockets per replica (through nginx)
    replica_cpu_s: list = field(default_factory=list)  # tap window CPU of each server
    taps_asked: int = 0
    tap_times: list = field(default_factory=list)
    tap_errors: list = field(default_factory=list)  # why a tap went unanswered
    server_errors: list = field(default_factory=list)  # ERROR messages the server sent
    window_wall_s: float = math.nan  # first tap → last tap answered (or given up)
    server_cpu_s: float = math.nan  # during the tap window, all server processes
    nginx_cpu_s: float = 0.0
    client_cpu_s: float = math.nan  # the load generator, during the tap window
    client_join_cpu_s: float = math.nan
    server_join_cpu_s: float = math.nan
    idle_cpu_per_s: float = math.nan  # server CPU s/s with everybody joined, no taps
    rss_start: int = 0
    rss_joined: int = 0
    pids: list = field(default_factory=list)  # every process started (servers, workers, nginx)
    load_average: tuple = ()
    window_wall: tuple = ()  # (time.time() at the first tap, at the last answer)
    collections: list = field(default_factory=list)  # (wall time, generation, seconds), servers'

    @property
    def label(self):
        where = (f"{self.processes} processes behind nginx" if self.front
                 else f"{self.processes} process, no nginx")
        blocked = ", cookies blocked" if self.front and not self.cookies else ""
        return f"{self.kind}: {self.sessions} sessions, {where}{blocked}"

    @property
    def joined(self):
        return len(self.join_times)

    @property
    def answered(self):
        return len(self.tap_times)

    @property
    def errors(self):
        """Failed joins, unanswered taps and ERROR messages from the server."""
        return (len(self.join_errors) + self.taps_asked - self.answered
                + len(self.server_errors))

    @property
    def cpu_per_tap_s(self):
        return self.server_cpu_s / self.answered if self.answered else math.nan

    @property
    def rss_per_session(self):
        return (self.rss_joined - self.rss_start) / self.joined if self.joined else math.nan


def _p(values, q):
    return float(np.percentile(values, q)) if len(values) else math.nan


def _progress(text):
    print(f"  [hall] {time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def _path_starts_at(session, path, x, y):
    data = session.get(path)["data"]
    xs, ys = np.asarray(data.get("x", [])), np.asarray(data.get("y", []))
    return len(xs) > 0 and len(ys) > 0 and float(xs[0]) == x and float(ys[0]) == y


def _screen(session, figure, x, y):
    """Where a tap at data (x, y) lands on the figure's canvas (sx, sy), roughly as BokehJS
    computes it (the server's handlers use x, y; sx, sy travel as a browser sends them)."""
    attributes = session.get(figure)
    x_range, y_range = session.get(attributes["x_range"]), session.get(attributes["y_range"])
    width, height = attributes.get("width") or 600, attributes.get("height") or 600
    sx = (x - x_range["start"]) / (x_range["end"] - x_range["start"]) * width
    sy = (y_range["end"] - y) / (y_range["end"] - y_range["start"]) * height
    return float(sx), float(sy)


async def _join(hall, url, index, door):
    """One student arriving at ramp position `index`: through the door, GET the page, open
    the websocket, pull the document (timed from the arrival), then say document_ready as the
    page does once drawn and wait for lesson 2's models (built then)."""
    await asyncio.sleep(index * hall.ramp_s / hall.sessions)
    started = time.perf_counter()

    async def enter():
        async with door:  # the whole join, lesson build included, counts against the door
            # a browser's first visit: the page's reply sets the affinity cookie, the
            # websocket upgrade carries it (unless this hall's browsers block cookies)
            session = await BokehSession.open(url, timeout=JOIN_TIMEOUT_S,
                                              cookies=hall.cookies)
            try:
                # the app builds lesson 2 when the page says it is drawn (onload): wait for it
                await session.ready(("landscape-figure", "landscape-path"),
                                    timeout=JOIN_TIMEOUT_S)
            except BaseException:
                await session.close()
                raise
            return session

    try:
        session = await asyncio.wait_for(enter(), JOIN_TIMEOUT_S)
    except Exception as error:  # counted: a student who cannot get in
        hall.join_errors.append(f"join: {type(error).__name__}")
        return None
    hall.join_times.append(time.perf_counter() - started)  # until lesson 2 is there
    replicas = session.page_headers.get("x-upstream"), session.upgrade_headers.get("x-upstream")
    hall.crossed += replicas[0] != replicas[1]
    hall.by_replica[replicas[1]] = hall.by_replica.get(replicas[1], 0) + 1
    return session


async def _student(hall, session, index, stop_at):
    """Tap once every period until `stop_at`, starting at a random phase."""
    figure, path = session.find(name="landscape-figure"), session.find(name="landscape-path")
    await asyncio.sleep(random.Random(index).uniform(0, hall.period_s))
    turn = index % 2
    while time.monotonic() < stop_at:
        tick = time.monotonic()
        x, y = TAPS[turn % 2]
        turn += 1
        hall.taps_asked += 1
        started = time.perf_counter()
        try:
            await session.tap(figure, x, y, *_screen(session, figure, x, y),
                              timeout=TAP_TIMEOUT_S)
            await session.wait_for(lambda x=x, y=y: _path_starts_at(session, path, x, y),
                                   timeout=TAP_TIMEOUT_S)
            hall.tap_times.append(time.perf_counter() - started)
        except Exception as error:  # counted: a tap nobody answered
            hall.tap_errors.append(f"tap: {type(error).__name__}")
        hall.server_errors.extend(f"server ERROR {e.get('text')}" for e in session.errors)
        session.errors.clear()
        if tick + hall.period_s >= stop_at:  # no tap due before the window closes
            break
        await asyncio.sleep(max(0.0, tick + hall.period_s - time.monotonic()))


async def _scenario(hall, url, servers, front_end):
    me = psutil.Process()
    server_processes = [p for server in servers for p in server.processes()]
    nginx_processes = front_end.processes() if front_end else []
    hall.rss_start = rss_bytes(server_processes)
    client0, server0 = cpu_seconds([me]), cpu_seconds(server_processes)
    started = time.monotonic()
    door = asyncio.Semaphore(hall.door or hall.sessions)
    joined = await asyncio.gather(*(_join(hall, url, i, door) for i in range(hall.sessions)))
    sessions = [session for session in joined if session is not None]
    hall.join_wall_s = time.monotonic() - started
    hall.client_join_cpu_s = cpu_seconds([me]) - client0
    hall.server_join_cpu_s = cpu_seconds(server_processes) - server0
    hall.rss_joined = rss_bytes(server_processes)
    _progress(f"{hall.label}: {len(sessions)} joined in {hall.join_wall_s:.0f} s")
    try:
        idle0 = cpu_seconds(server_processes)
        await asyncio.sleep(IDLE_S)
        hall.idle_cpu_per_s = (cpu_seconds(server_processes) - idle0) / IDLE_S
        client0, server0 = cpu_seconds([me]), cpu_seconds(server_processes)
        nginx0 = cpu_seconds(nginx_processes)
        replica0 = [server.cpu_seconds() for server in servers]
        started, wall_started = time.monotonic(), time.time()
        stop_at = started + hall.window_s
        await asyncio.gather(*(_student(hall, s, i, stop_at) for i, s in enumerate(sessions)))
        hall.window_wall_s = time.monotonic() - started
        hall.window_wall = (wall_started, time.time())
        hall.server_cpu_s = cpu_seconds(server_processes) - server0
        hall.client_cpu_s = cpu_seconds([me]) - client0
        hall.nginx_cpu_s = cpu_seconds(nginx_processes) - nginx0
        hall.replica_cpu_s = [s.cpu_seconds() - c for s, c in zip(servers, replica0, strict=True)]
    finally:
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)


@contextlib.contextmanager
def _terminate_raises():
    """While the hall runs, SIGTERM raises KeyboardInterrupt (in the main thread), so the
    `finally` that stops every server and nginx by PID runs when the run is killed too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt("SIGTERM")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_hall(kind, sessions, processes=None, front=True, ramp_s=RAMP_S, window_s=WINDOW_S,
             period_s=PERIOD_S, cookies=True):
    """One hall: start `processes` servers of `kind` (one per core by default) and, with
    `front`, nginx before them; N students join over `ramp_s`, then tap every `period_s` for
    `window_s`; stop everything (by PID) and return the Hall. `cookies=False`: the students'
    browsers block cookies (no affinity: pages and websockets may cross)."""
    processes = processes or (os.cpu_count() or 1)
    if not front and processes != 1:
        raise ValueError("without nginx in front, one process")
    hall = Hall(kind, sessions, processes, front, ramp_s, window_s, period_s,
                cookies=cookies)
    servers, front_end = [], None
    with tempfile.TemporaryDirectory(prefix="downhill-hall-") as directory, _terminate_raises():
        # Each server process logs its garbage collections there (app/server.py GC_LOG).
        gc_logs = os.path.join(directory, "gc")
        os.makedirs(gc_logs)
        previous_log = os.environ.get(GC_LOG)
        os.environ[GC_LOG] = gc_logs
        try:
            listen = free_port() if front else None
            origins = [f"127.0.0.1:{listen}"] if front else []
            for _ in range(processes):
                servers.append(Server(kind, origins=origins))
                hall.pids += [p.pid for p in servers[-1].processes()]
            if front:
                # Each websocket holds two connections (student, replica), plus the pages.
                front_end = Nginx(directory, listen, [s.port for s in servers],
                                  connections=4 * sessions + 256,
                                  location_extra=UPSTREAM_HEADER)
                hall.pids += [p.pid for p in front_end.processes()]
            url = (front_end.url if front else servers[0].url) + PATH
            _progress(f"{hall.label}: joining over {ramp_s:.0f} s")
            asyncio.run(_scenario(hall, url, servers, front_end))
        finally:
            if previous_log is None:
                os.environ.pop(GC_LOG, None)
            else:
                os.environ[GC_LOG] = previous_log
            if front_end is not None:
                front_end.stop()
            for server in servers:
                server.stop()
            hall.collections = _collections(gc_logs)
    hall.load_average = os.getloadavg()
    return hall


def _collections(directory):
    """The servers' logged garbage collections: (wall time, generation, seconds), in order."""
    found = []
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name)) as log:
            for line in log:
                wall, generation, seconds, _collected = line.split()
                found.append((float(wall), int(generation), float(seconds)))
    return sorted(found)


def _pauses(hall, during_taps):
    """The collections that started in the tap window (or before it: while joining)."""
    if not hall.window_wall:
        return [] if during_taps else hall.collections
    first, last = hall.window_wall
    return [c for c in hall.collections
            if (first <= c[0] <= last if during_taps else c[0] < first)]


def _finite(value):
    return value if value is not None and math.isfinite(value) else None


def report(halls):
    """The table's rows for these halls, then app / panel ratios for each configuration."""
    rows = []
    by_config = {}
    for hall in halls:
        by_config.setdefault((hall.sessions, hall.front), {})[hall.kind] = hall
        app = hall.kind == "app"
        targets = TARGETS[hall.front]
        p95 = _p(hall.tap_times, 95) * 1e3
        asked_per_s = hall.sessions / hall.period_s
        window = hall.window_wall_s
        rows.append(row(
            f"{hall.label}: join time p95", _finite(_p(hall.join_times, 95)), "s",
            note=f"arrival → lesson 2 there ({hall.door or 'any'} joins in flight at once); "
                 f"p50 {_p(hall.join_times, 50):.2f} s; "
                 f"{hall.joined} of {hall.sessions} joined, ramp {hall.ramp_s:.0f} s, "
                 f"last join ended after {hall.join_wall_s:.0f} s; server CPU "
                 f"{hall.server_join_cpu_s / max(hall.joined, 1) * 1e3:.0f} ms per join"
                 + (f"; {hall.crossed} pages and websockets at different replicas (both build "
                    f"the page), websockets per replica "
                    f"{sorted(hall.by_replica.values(), reverse=True)}" if hall.front else "")))
        rows.append(row(
            f"{hall.label}: tap p95", _finite(p95), "ms",
            f"≤ {targets['p95_ms']:.0f} ms" if app else None,
            (p95 <= targets["p95_ms"]) if app else None,
            note=f"tap → landscape-path patch; max "
                 f"{max(hall.tap_times, default=math.nan) * 1e3:.0f} ms; n={hall.answered}"))
        rows.append(row(f"{hall.label}: tap p50", _finite(_p(hall.tap_times, 50) * 1e3), "ms"))
        for during_taps, phase in ((False, "joining"), (True, "tap window")):
            pauses = _pauses(hall, during_taps)
            full = [seconds for _wall, generation, seconds in pauses if generation == 2]
            rows.append(row(
                f"{hall.label}: longest garbage collection, {phase}",
                max((seconds * 1e3 for _w, _g, seconds in pauses), default=0.0), "ms",
                note=f"{len(full)} full (generation-2) collections, {sum(full):.2f} s in all, "
                     f"longest {max(full, default=0) * 1e3:.0f} ms; summed over the server "
                     f"processes (each pauses only its own students)"))
        unanswered = hall.taps_asked - hall.answered
        rows.append(row(
            f"{hall.label}: errors", hall.errors, "errors", "0" if app else None,
            (hall.errors == 0) if app else None,
            note=f"{len(hall.join_errors)} failed joins, {unanswered} of {hall.taps_asked} "
                 f"taps unanswered, {len(hall.server_errors)} server ERRORs; "
                 f"{sorted(set(hall.join_errors + hall.tap_errors + hall.server_errors))[:3]}"))
        rows.append(row(
            f"{hall.label}: RSS per session", _finite(hall.rss_per_session / MB), "MB",
            note=f"summed over the server processes: {hall.rss_start / MB:.0f} MB at start, "
                 f"{hall.rss_joined / MB:.0f} MB joined"))
        rows.append(row(
            f"{hall.label}: taps answered per second", _finite(hall.answered / window),
            "taps/s", note=f"{asked_per_s:.0f}/s intended ({hall.sessions} every "
                           f"{hall.period_s:g} s); {hall.taps_asked} asked in {window:.0f} s"))
        cpu_ms = hall.cpu_per_tap_s * 1e3
        cores = os.cpu_count() or 1
        rows.append(row(
            f"{hall.label}: server CPU per tap", _finite(cpu_ms), "ms",
            note=f"server CPU {hall.server_cpu_s:.1f} s over the {window:.0f} s window "
                 f"({hall.server_cpu_s / window:.2f} cores; idle with everybody joined "
                 f"{hall.idle_cpu_per_s * 1e3:.0f} ms/s); nginx "
                 f"{hall.nginx_cpu_s / window:.2f} cores, the clients "
                 f"{hall.client_cpu_s / window:.2f} cores (joining: "
                 f"{hall.client_join_cpu_s / max(hall.join_wall_s, 1e-9):.2f}); load average "
                 f"{' '.join(f'{v:.1f}' for v in hall.load_average)}"))
        join_cpu = hall.server_join_cpu_s / hall.joined if hall.joined else math.nan
        rows.append(row(
            f"{hall.label}: cores the joins need", _finite(hall.sessions * join_cpu
                                                           / hall.ramp_s), "cores",
            note=f"{hall.sessions} joins over the {hall.ramp_s:.0f} s ramp × {join_cpu * 1e3:.0f} "
                 f"ms server CPU per join (all the CPU while joining / sessions joined), "
                 f"against {cores} cores" + ("" if hall.front else " (one process uses one)")))
        rows.append(row(
            f"{hall.label}: cores the taps need", _finite(cpu_ms * asked_per_s / 1e3), "cores",
            note=f"{asked_per_s:.0f} taps/s asked × {cpu_ms:.1f} ms server CPU per tap, against "
                 f"{cores} cores" + ("" if hall.front else " (one process uses one)")
                 + f"; CPU per server process in the window: "
                 f"{', '.join(f'{c / window:.2f}' for c in hall.replica_cpu_s)} cores"))
    for (_sessions, front), kinds in by_config.items():
        app, panel = kinds.get("app"), kinds.get("panel")
        if app is None or panel is None:
            continue
        target = TARGETS[front]["ratio"]
        for what, a, b in (
            ("tap p95", _p(app.tap_times, 95), _p(panel.tap_times, 95)),
            ("join time p95", _p(app.join_times, 95), _p(panel.join_times, 95)),
            ("server CPU per tap", app.cpu_per_tap_s, panel.cpu_per_tap_s),
            ("RSS per session", app.rss_per_session, panel.rss_per_session),
        ):
            ratio = _finite(a / b) if b else None
            gated = what == "tap p95" and target is not None
            rows.append(row(
                f"ratio app / panel: {app.label.split(': ', 1)[1]}, {what}", ratio, "×",
                f"≤ {target:g}×" if gated else None,
                (ratio is not None and ratio <= target) if gated else None))
    return rows


def run(repeats=1, quick=False):
    """The section for benchmarks/run.py: one long run per hall (`repeats` is not used)."""
    if quick:
        front_n, single_n = QUICK["front"], QUICK["single"]
        ramp_s, window_s = QUICK["ramp_s"], QUICK["window_s"]
    else:
        front_n, single_n, ramp_s, window_s = FRONT_SESSIONS, SINGLE_SESSIONS, RAMP_S, WINDOW_S
    halls = []
    for sessions, front in ((front_n, True), (single_n, False)):
        for kind in ("app", "panel"):
            halls.append(run_hall(kind, sessions, processes=None if front else 1, front=front,
                                  ramp_s=ramp_s, window_s=window_s))
    return report(halls)

