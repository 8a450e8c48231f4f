"""Benchmark section "sessions": server cost without a browser, through benchmarks/wsclient.py
(a client that speaks the Bokeh protocol: GET the page, open the websocket, pull the document,
send patches).

For the app and both baselines, in one run: server CPU to create a session, server CPU per
interaction (lesson 2's η slider; the baselines' slider), RSS per live session at 10/50/200
sessions and after they close, throughput at saturation (1 and 2 processes), lesson 4's Play
(server CPU per animated second, with chromium playing it: it animates in the browser), and a
lecture hall: N sessions on `--num-procs 2`, one interaction every 2 s each, p95 latency and
errors. Sessions of the app stay on the first tab
(where students land) except where a metric needs lesson 2 or 4.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time

from benchmarks.servers import KINDS, STOCK, Server
from benchmarks.wsclient import BokehSession, fetch_page

TITLE = "Server cost per session and interaction (Bokeh-protocol clients, no browser)"
MB = 1 << 20


def _slider(session, kind, lesson2):
    """The slider an interaction moves and two values to alternate between."""
    if kind == "app" and not lesson2:
        return session.find(title="w"), (1.5, -0.5)
    return session.find(title="Learning rate"), (-1.3, -1.0)


LESSON1_READY = ("derivative-figure", "tangent-line")
"""Models of the app's default lesson's first screen: it is built once the browser says
document_ready."""
LESSON1_REST = ("error-figure", "secant-figure", "descent1d-figure", "descent1d-path")
"""Models of lesson 1's parts beside and below its first screen: built when the student
scrolls to them (app/reveal.py)."""


async def _open(server, kind, lesson2=False):
    session = await BokehSession.open(server.url, timeout=120)
    # As a browser does once the page is drawn. Panel treats a session that never said so as
    # still loading and sends its changes differently (an η change: four messages, not one).
    # The app builds its open tab's lesson then: the page is open once the lesson is there.
    await session.ready(LESSON1_READY if kind == "app" else (), timeout=120)
    if kind == "app" and lesson2:
        await session.open_tab("Gradient descent", ["landscape-path"], timeout=120)
    return session


async def _interact(session, slider, value, timeout=60):
    """Move the slider; seconds until the server's answering patch arrives."""
    before = session.patches_received
    started = time.perf_counter()
    await session.set_value(slider, value, timeout=timeout)
    await session.wait_for_patch(before, timeout=timeout)
    return time.perf_counter() - started


def session_creation_cpu(server, count, split=False, scrolled=False):
    """Server CPU seconds per new page (GET + websocket + document, and for the app until its
    lesson's first screen has arrived), sessions one at a time. With `split`, (total, the
    HTTP request's share): the GET builds the session's first document and renders the page;
    the rest is the websocket, the document's pull and (app) the lesson built on
    document_ready. With `scrolled`, the app's student also scrolls through lesson 1 (every
    part built when scrolled to, app/reveal.py, is built and has arrived)."""
    async def one():
        before = server.cpu_seconds()
        status, _headers, html = await fetch_page(server.url, timeout=120)
        if status != 200:
            raise RuntimeError(f"GET {server.url} answered {status}")
        got_page = server.cpu_seconds()
        session = await BokehSession.connect(server.url, html, timeout=120)
        await session.ready(LESSON1_READY if server.kind == "app" else (), timeout=120)
        if scrolled and server.kind == "app":
            await session.reveal(LESSON1_REST, timeout=120)
        await session.close()
        return server.cpu_seconds() - before, got_page - before

    async def scenario():
        for _ in range(2):  # warm up (first imports, caches)
            await one()
        costs = [await one() for _ in range(count)]
        return tuple(sum(column) / count for column in zip(*costs, strict=True))

    total, request = asyncio.run(scenario())
    return (total, request) if split else total


def interaction_cpu(server, count, lesson2=True):
    """Server CPU seconds and client-side latency per slider change in one session (the
    app: lesson 2's η, or with lesson2=False lesson 1's w, the lecture hall's slider)."""
    async def scenario():
        session = await _open(server, server.kind, lesson2=lesson2)
        slider, values = _slider(session, server.kind, lesson2=lesson2)
        for value in values:
            await _interact(session, slider, value)
        before = server.cpu_seconds()
        latencies = [await _interact(session, slider, values[i % 2]) for i in range(count)]
        cpu = (server.cpu_seconds() - before) / count
        await session.close()
        return cpu, latencies

    return asyncio.run(scenario())


TAP_POINTS = ((1.0, -1.0), (-2.0, 2.0))  # inside the default bowl's bounds


def tap_cpu(server, count):
    """Server CPU seconds and client-side latency per tap on lesson 2's landscape (a new
    start: the whole step budget is descended again and every source updated), in one
    session, each tap awaited until the path starts at the tapped point."""
    async def scenario():
        session = await _open(server, "app", lesson2=True)
        figure = session.find(name="landscape-figure")
        path = session.find(name="landscape-path")

        async def tap(i):
            x, y = TAP_POINTS[i % 2]
            started = time.perf_counter()
            await session.send_event("tap", figure, sx=10.0, sy=10.0, x=x, y=y)
            await session.wait_for(lambda: list(session.get(path)["data"]["x"][:1]) == [x],
                                   timeout=60)
            return time.perf_counter() - started

        for i in range(4):  # warm up
            await tap(i)
        before = server.cpu_seconds()
        latencies = [await tap(i) for i in range(count)]
        cpu = (server.cpu_seconds() - before) / count
        await session.close()
        return cpu, latencies

    return asyncio.run(scenario())


def memory(server, levels, settle_s):
    """RSS per live session at each level of concurrent sessions, and after they all close."""
    async def scenario():
        start_rss = server.rss_bytes()
        sessions, per_session = [], {}
        gate = asyncio.Semaphore(4)

        async def one():
            async with gate:
                return await _open(server, server.kind)

        for level in levels:
            sessions += await asyncio.gather(*(one() for _ in range(level - len(sessions))))
            per_session[level] = (server.rss_bytes() - start_rss) / level
        peak = server.rss_bytes()
        for session in sessions:
            await session.close()
        deadline = time.monotonic() + settle_s
        after = server.rss_bytes()
        while time.monotonic() < deadline:  # Bokeh discards closed sessions every ~17 s
            await asyncio.sleep(2)
            after = server.rss_bytes()
        return start_rss, per_session, peak, after

    return asyncio.run(scenario())


def throughput(server, clients, seconds):
    """Slider interactions per second with `clients` sessions interacting back to back."""
    async def scenario():
        sessions = [await _open(server, server.kind, lesson2=True) for _ in range(clients)]
        done, errors = 0, 0
        stop_at = time.monotonic() + seconds

        async def drive(session, index):
            nonlocal done, errors
            slider, values = _slider(session, server.kind, lesson2=True)
            i = 0  # every session starts at its default: the first value differs from it
            while time.monotonic() < stop_at:
                try:
                    await _interact(session, slider, values[i % 2])
                    done += 1
                except Exception:
                    errors += 1
                i += 1

        started = time.monotonic()
        await asyncio.gather(*(drive(s, i) for i, s in enumerate(sessions)))
        elapsed = time.monotonic() - started
        for session in sessions:
            await session.close()
        return done / elapsed, errors

    return asyncio.run(scenario())


LESSON4_FRAMES_JS = """() => {
    // Count the frames the browser paints while Play runs.
    const bench = window.__play4 = {frames: 0, stop: false};
    const tick = () => { if (bench.stop) return; bench.frames += 1; requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
}"""
# Press a lesson-4 button through its view, as a click does (Playwright's click waits for the
# button to be "stable", seconds on a loaded machine while 5 figures animate).
LESSON4_PRESS_JS = """label => {
    for (const m of Bokeh.documents[0]._all_models.values())
        if (m.label === label) { Bokeh.index.find_one(m).click(); return true; }
    return false;
}"""
LESSON4_SERVER_STEP_JS = """k => Bokeh.documents[0].get_model_by_name('minibatch-status').text
    .includes('<b>Step ' + k + ' of 150</b>')"""


def lesson4_play_cpu(server, warm=True):
    """Lesson 4's Play in a real browser, one whole run (150 steps, one per 120 ms, ~18 s):
    server CPU per animated second, frames per second the browser painted, steps per second.

    Play animates in the browser (the runs are sent once; the server hears the click,
    "playing" and, when Play ends, the step), so a Bokeh-protocol client that clicks Play
    would see no animation and measure nothing: Debian's chromium plays it, as a student's
    browser does. The CPU runs from the click until the server has drawn the last step. With
    `warm`, one short Play/Pause/Reset first, so the first-event costs of a fresh session are
    not counted as animation.
    """
    from playwright.sync_api import sync_playwright

    from benchmarks.browser import CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS,
                                    headless=True)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.goto(server.url)
            ready = "n => Bokeh.documents.length && Bokeh.documents[0].get_model_by_name(n)"
            page.wait_for_function(ready, arg="derivative-figure", timeout=120_000)
            page.locator(".bk-tab", has_text="Stochastic & adaptive").first.click()
            page.wait_for_function(ready, arg="minibatch-trajectory", timeout=120_000)
            page.wait_for_function("() => Bokeh.documents[0].is_idle", timeout=60_000)
            page.wait_for_load_state("networkidle")
            if warm:
                page.evaluate(LESSON4_PRESS_JS, "Play")
                page.wait_for_function(ready.replace("get_model_by_name(n)", "is_idle"))
                time.sleep(0.5)
                page.evaluate(LESSON4_PRESS_JS, "Pause")
                page.evaluate(LESSON4_PRESS_JS, "Reset")
                page.wait_for_function(LESSON4_SERVER_STEP_JS, arg=0, timeout=60_000)
            time.sleep(1.0)  # the tab's first layout messages settle
            page.evaluate(LESSON4_FRAMES_JS)
            before_cpu = server.cpu_seconds()
            started = time.monotonic()
            page.evaluate(LESSON4_PRESS_JS, "Play")
            page.wait_for_function(LESSON4_SERVER_STEP_JS, arg=150, timeout=120_000)
            elapsed = time.monotonic() - started
            cpu = server.cpu_seconds() - before_cpu
            frames = page.evaluate("() => { __play4.stop = true; return __play4.frames; }")
        finally:
            browser.close()
    return cpu / elapsed, frames / elapsed, 150 / elapsed


def lecture_hall(server, sessions_wanted, seconds, period_s=2.0, open_budget_s=300.0):
    """`sessions_wanted` sessions, each moving a slider every `period_s`: latencies, errors.
    Sessions not opened within `open_budget_s` count as errors (the run stays bounded)."""
    async def scenario():
        gate = asyncio.Semaphore(8)
        errors, latencies, opened = [], [], []
        open_until = time.monotonic() + open_budget_s

        async def one():
            async with gate:
                if time.monotonic() > open_until:
                    errors.append("open: not within the time budget")
                    return
                try:
                    opened.append(await _open(server, server.kind))
                except Exception as error:  # counted: a student who cannot connect
                    errors.append(f"open: {type(error).__name__}")

        await asyncio.gather(*(one() for _ in range(sessions_wanted)))
        stop_at = time.monotonic() + seconds

        async def student(session, index):
            slider, values = _slider(session, server.kind, lesson2=False)
            await asyncio.sleep(random.Random(index).uniform(0, period_s))
            i = 0  # every session starts at its default: the first value differs from it
            while time.monotonic() < stop_at:
                tick = time.monotonic()
                try:
                    latencies.append(await _interact(session, slider, values[i % 2], timeout=30))
                except Exception as error:
                    errors.append(f"interact: {type(error).__name__}")
                i += 1
                await asyncio.sleep(max(0.0, period_s - (time.monotonic() - tick)))

        await asyncio.gather(*(student(s, i) for i, s in enumerate(opened)))
        for session in opened:
            await session.close()
        return len(opened), latencies, errors

    return asyncio.run(scenario())


def _p(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def row(name, value, unit, target=None, ok=None, note="", **extra):
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok,
            "note": note, **extra}


def _progress(text):
    print(f"  [sessions] {time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def run(repeats=5, quick=False):
    creations = 3 if quick else 10
    interactions = 10 if quick else 40
    hall = 40 if quick else 500
    hall_s = 10 if quick else 30
    clients, busy_s = (4, 3) if quick else (8, 8)
    rows, creation, per_interaction, hall_p95 = [], {}, {}, {}
    for kind in KINDS:
        # The app gets the full ladder and the wait for memory to return; the baselines, whose
        # numbers are only for comparison, stop at 50 sessions and are read right after close.
        levels = (10,) if quick else ((10, 50, 200) if kind == "app" else (10, 50))
        settle_s = 3 if quick else (45 if kind == "app" else 0)
        with Server(kind) as server:
            _progress(f"{kind}: session creation")
            creation[kind], request_cpu = session_creation_cpu(server, creations, split=True)
            if kind == "app":
                scrolled_cpu = session_creation_cpu(server, creations, scrolled=True)
            per_interaction[kind], latencies = interaction_cpu(server, interactions)
            _progress(f"{kind}: memory at {levels} sessions")
            start_rss, per_session, peak, after = memory(server, levels, settle_s)
            rows.append(row(f"{kind}: server CPU to create a session", creation[kind] * 1e3,
                            "ms", "≤ 60 ms" if kind == "app" else None,
                            creation[kind] <= 0.060 if kind == "app" else None,
                            f"mean of {creations} new pages, until the open tab's lesson's "
                            "first screen has arrived; the HTTP request (first paint) "
                            f"{request_cpu * 1e3:.0f} ms of it"))
            if kind == "app":
                rows.append(row("app: server CPU to create a session and scroll through "
                                "lesson 1", scrolled_cpu * 1e3, "ms", note=(
                                    f"mean of {creations} new pages whose student also "
                                    "scrolls to the error plot's place (as a laptop shows it "
                                    "at once): it, the secants and 1-D descent are built")))
            rows.append(row(f"{kind}: server CPU per slider interaction",
                            per_interaction[kind] * 1e3, "ms", note=(
                                f"client-side latency p50 {statistics.median(latencies) * 1e3:.1f}"
                                f" ms, p95 {_p(latencies, 0.95) * 1e3:.1f} ms "
                                f"(n={interactions})")))
            for level, rss in per_session.items():
                rows.append(row(f"{kind}: RSS per live session at {level} sessions", rss / MB,
                                "MB", "≤ 5 MB" if kind == "app" else None,
                                rss <= 5 * MB if kind == "app" else None,
                                f"start {start_rss / MB:.0f} MB"))
            returned = (after - start_rss) / MB
            rows.append(row(f"{kind}: RSS after {max(levels)} sessions closed ({settle_s} s), "
                            "minus start",
                            returned, "MB", "≤ 20 MB" if kind == "app" else None,
                            returned <= 20 if kind == "app" else None,
                            f"peak {peak / MB:.0f} MB; waited {settle_s} s"))
            if kind == "app":
                tap_s, tap_latencies = tap_cpu(server, interactions)
                rows.append(row("app: server CPU per tap on lesson 2's landscape", tap_s * 1e3,
                                "ms", note=(f"client-side latency p50 "
                                            f"{statistics.median(tap_latencies) * 1e3:.1f} ms "
                                            f"(n={interactions})")))
                w_cpu, w_latencies = interaction_cpu(server, interactions, lesson2=False)
                rows.append(row("app: server CPU per slider interaction, lesson 1's w (the "
                                "hall's)", w_cpu * 1e3, "ms", note=(
                                    f"client-side latency p50 "
                                    f"{statistics.median(w_latencies) * 1e3:.1f} ms "
                                    f"(n={interactions})")))
            rate, errors = throughput(server, clients, busy_s)
            rows.append(row(f"{kind}: throughput, 1 process", rate, "interactions/s",
                            note=f"{clients} clients back to back; errors {errors}"))
            if kind == "app":
                # On a server of its own: the sessions above end (and Panel collects garbage
                # after them) while Play runs, which is not the animation's cost.
                with Server("app") as quiet:
                    cpu_per_s, fps, steps_per_s = lesson4_play_cpu(quiet)
                rows.append(row("app: lesson 4 Play, server CPU per animated second",
                                cpu_per_s * 1e3, "ms/s", "≤ 2 ms/s", cpu_per_s <= 0.002,
                                f"a whole run in chromium: {fps:.0f} frames/s painted, "
                                f"{steps_per_s:.1f} steps/s revealed (one per 120 ms)"))
    with Server(STOCK) as stock:
        _progress(f"{STOCK}: session creation")
        creation[STOCK] = session_creation_cpu(stock, creations)
    rows.append(row(f"{STOCK}: server CPU to create a session", creation[STOCK] * 1e3, "ms",
                    note=(f"mean of {creations} new pages: the no-op Panel page served by "
                          "`pn.serve` as Panel ships it (none of the app's start-up)")))
    ratio = creation["app"] / creation[STOCK]
    rows.append(row(f"ratio app / {STOCK}: session creation CPU", ratio, "×", "≤ 1.5×",
                    ratio <= 1.5, "issue 14's no-op Panel app as Panel ships it; the default "
                    "page (lesson 1) until its first screen has arrived"))
    for kind in ("app", "panel", "bokeh"):
        if kind != "app":
            ratio = creation["app"] / creation[kind]
            rows.append(row(f"ratio app / {kind}: session creation CPU", ratio, "×",
                            "≤ 1.5×" if kind == "panel" else None,
                            ratio <= 1.5 if kind == "panel" else None,
                            "the default page (lesson 1) until its first screen has arrived"
                            + ("; the baseline with every patch of app/upstream_patches.py "
                               "and the app's start-up (the stricter reading)"
                               if kind == "panel" else "")))
            rows.append(row(f"ratio app / {kind}: CPU per interaction",
                            per_interaction["app"] / per_interaction[kind], "×"))
    for kind in KINDS:
        with Server(kind, num_procs=2) as server:
            _progress(f"{kind}: --num-procs 2")
            rate, errors = throughput(server, clients, busy_s)
            rows.append(row(f"{kind}: throughput, --num-procs 2", rate, "interactions/s",
                            note=f"errors {errors}"))
            # Every kind gets the hall: whether the target is within reach of a Panel page at
            # all shows in the no-op Panel baseline's own p95 on the same machine.
            opened, latencies, errors = lecture_hall(server, hall, hall_s)
            p95 = _p(latencies, 0.95)
            hall_p95[kind] = p95
            app = kind == "app"
            ok = p95 is not None and p95 <= 0.1 and not errors and opened == hall
            rows.append(row(f"{kind}: {hall} sessions, one interaction / 2 s each, "
                            "--num-procs 2: p95", None if p95 is None else p95 * 1e3, "ms",
                            "≤ 100 ms, 0 errors" if app else None, ok if app else None,
                            f"{opened} opened, {len(latencies)} interactions "
                            f"({len(latencies) / hall_s:.0f}/s of {hall / 2:.0f}/s asked), p50 "
                            f"{(_p(latencies, 0.5) or 0) * 1e3:.0f} ms, "
                            f"{len(errors)} errors {sorted(set(errors))[:3]}"))
    for kind in ("panel", "bokeh"):
        if hall_p95.get("app") and hall_p95.get(kind):
            rows.append(row(f"ratio app / {kind}: {hall}-session hall p95",
                            hall_p95["app"] / hall_p95[kind], "×"))
    return rows
