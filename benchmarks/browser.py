"""Benchmark section "browser": the page in Debian chromium (Playwright), the app against a
no-op Panel baseline and a pure-Bokeh baseline, interleaved in blocks, timed by the page's own
clock (performance.now).

Each block opens a fresh browser context per server (the order rotates from block to block) and
measures, on that page: cold load to interactive (the named models present and the Bokeh
document idle; ms since navigation start) and the bytes over the wire (HTTP bodies as sent,
compressed, plus websocket frames); then taps on the landscape (pointerup → the path's data
changes in the browser → the next animation frame, which is the one Bokeh paints the change
in), learning-rate slider changes (value set in the browser → path data) and Step downhill
clicks (pointerup → the new point). The app is measured on lesson 2's tab (opened after the
cold load is timed). Play is measured on the app only (frames delivered per second in the
browser and the server's CPU meanwhile); the baselines have no animation.
"""

from __future__ import annotations

import statistics
import sys
import time

from benchmarks.servers import KINDS, Server

TITLE = "In the browser: app vs no-op Panel vs pure Bokeh (same run, interleaved blocks)"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
READY_MODELS = {"app": ["derivative-figure", "descent1d-path"],
                "panel": ["landscape-figure", "landscape-path"],
                "bokeh": ["landscape-figure", "landscape-path"]}
LESSON2_MODELS = ["landscape-figure", "landscape-path", "landscape-trajectory"]
TAP_SPACING_S = 0.35

INIT_JS = """
(() => {
  const bench = window.__bench = {t0: null, changes: [], ready: null};
  addEventListener('pointerup', () => { bench.t0 = performance.now(); }, true);
  window.__benchWatch = (name) => {
    const m = Bokeh.documents[0].get_model_by_name(name);
    if (m.__benchWatched) return;
    m.__benchWatched = true;
    const record = () => {
      const change = {data: performance.now(), paint: null};
      bench.changes.push(change);
      requestAnimationFrame(() => { change.paint = performance.now(); });
    };
    m.properties.data.change.connect(record);
    m.streaming.connect(record);
    m.patching.connect(record);
  };
  const names = NAMES;
  const poll = () => {
    const docs = (window.Bokeh && window.Bokeh.documents) || [];
    if (docs.length && docs[0].is_idle &&
        names.every(n => docs[0].get_model_by_name(n) != null)) {
      bench.ready = performance.now();
      return;
    }
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
})();
"""

CHANGE_DONE_JS = "() => __bench.changes.length > 0 && __bench.changes[0].paint !== null"
READ_JS = "() => ({t0: __bench.t0, data: __bench.changes[0].data, paint: __bench.changes[0].paint})"
FRAME_JS = """name => {
  const fig = Bokeh.documents[0].get_model_by_name(name);
  const view = Bokeh.index.find_one(fig);
  const canvas = view.canvas_view.el.getBoundingClientRect();
  const bbox = view.frame.bbox;
  return {left: canvas.left + bbox.left, top: canvas.top + bbox.top,
          width: bbox.width, height: bbox.height};
}"""
SET_SLIDER_JS = """([title, value]) => {
  for (const m of Bokeh.documents[0]._all_models.values())
    if (m.title === title && 'value' in m) {
      __bench.changes = []; __bench.t0 = performance.now(); m.value = value; return true;
    }
  return false;
}"""


class WireCounter:
    """Bytes received by the page: HTTP bodies as sent (encodedDataLength) and websocket
    frames (payload length), from the Chrome DevTools protocol."""

    def __init__(self, page):
        self.http = self.websocket = 0
        self.scripts = []
        session = page.context.new_cdp_session(page)
        session.send("Network.enable")
        session.on("Network.loadingFinished", self._finished)
        session.on("Network.webSocketFrameReceived", self._frame)
        session.on("Network.responseReceived", self._response)

    def _finished(self, event):
        self.http += event.get("encodedDataLength", 0)

    def _frame(self, event):
        self.websocket += len(event["response"].get("payloadData", ""))

    def _response(self, event):
        url = event["response"]["url"]
        if event.get("type") == "Script":
            self.scripts.append(url.rsplit("/", 1)[-1].split("?")[0])


def _new_page(browser, kind):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.add_init_script(INIT_JS.replace("NAMES", repr(READY_MODELS[kind])))
    page = context.new_page()
    page.bench_kind = kind
    return context, page


def cold_load(browser, server):
    """A fresh context loads the page: (ms to interactive, bytes, scripts, context, page)."""
    context, page = _new_page(browser, server.kind)
    wire = WireCounter(page)
    page.goto(server.url)
    page.wait_for_function("() => window.__bench.ready !== null", timeout=120_000)
    page.wait_for_load_state("networkidle")
    ready_ms = page.evaluate("() => __bench.ready")
    return ready_ms, wire.http + wire.websocket, wire.scripts, context, page


def _open_lesson2(page, kind):
    if kind == "app":
        page.locator(".bk-tab", has_text="Gradient descent").first.click()
        page.wait_for_function(
            "names => names.every(n => Bokeh.documents[0].get_model_by_name(n) != null)",
            arg=LESSON2_MODELS, timeout=120_000)
        page.wait_for_function("() => Bokeh.documents[0].is_idle", timeout=60_000)
    page.evaluate("() => __benchWatch('landscape-path')")


LOST = []  # (kind, what) of every action whose change never arrived within the timeout


def _measure(page, action, what, timeout=10_000):
    """Run `action` (which sets __bench.t0), wait for the path's change and its frame;
    (None, None) when no change arrives in time (counted in LOST, reported per kind)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.evaluate("() => { __bench.changes = []; __bench.t0 = null; }")
    action()
    try:
        page.wait_for_function(CHANGE_DONE_JS, timeout=timeout)
    except PlaywrightTimeout:
        LOST.append((page.bench_kind, what))
        return None, None
    got = page.evaluate(READ_JS)
    if got["t0"] is None:  # the pointer event was not seen: do not guess a start time
        LOST.append((page.bench_kind, what))
        return None, None
    return got["data"] - got["t0"], got["paint"] - got["t0"]


def taps(page, count):
    page.evaluate("""name => Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name(name))
        .canvas_view.el.scrollIntoView({block: 'center'})""", "landscape-figure")
    frame = page.evaluate(FRAME_JS, "landscape-figure")
    spots = [(0.3, 0.35), (0.7, 0.6), (0.4, 0.7), (0.6, 0.3)]
    data, paint = [], []
    for i in range(count):
        fx, fy = spots[i % len(spots)]
        x, y = frame["left"] + fx * frame["width"], frame["top"] + fy * frame["height"]
        started = time.monotonic()
        d, p = _measure(page, lambda x=x, y=y: page.mouse.click(x, y), "tap")
        if d is not None:
            data.append(d)
            paint.append(p)
        time.sleep(max(0.0, TAP_SPACING_S - (time.monotonic() - started)))
    return data, paint


def slider_changes(page, count):
    data = []
    for i in range(count):
        value = (-1.3, -1.0)[i % 2]  # starts at -1 (η = 0.1)
        d, _p = _measure(page, lambda v=value: page.evaluate(SET_SLIDER_JS,
                                                            ["Learning rate", v]), "slider")
        if d is not None:
            data.append(d)
    return data


def steps(page, kind, count):
    button = page.get_by_role("button", name="Step downhill")
    data = []
    for _ in range(count):
        d, _p = _measure(page, lambda: button.click(), "step")
        if d is not None:
            data.append(d)
    if kind == "app":
        page.get_by_role("button", name="Reset").click()
    return data


def play(browser, server, seconds):
    """App only: frames per second delivered in the browser, server CPU per animated second."""
    context, page = _new_page(browser, "app")
    try:
        page.goto(server.url)
        page.wait_for_function("() => window.__bench.ready !== null", timeout=120_000)
        _open_lesson2(page, "app")
        page.evaluate(SET_SLIDER_JS, ["Speed (steps/s)", 60])
        page.evaluate(SET_SLIDER_JS, ["Steps", 2000])
        page.wait_for_function(
            """() => {
                const d = Bokeh.documents[0].get_model_by_name('landscape-trajectory').data;
                return (d instanceof Map ? d.get('step') : d.step).length > 1000;
            }""", timeout=60_000)
        page.wait_for_load_state("networkidle")
        time.sleep(0.5)
        page.evaluate("() => { __bench.changes = []; }")
        cpu_before = server.cpu_seconds()
        started = time.monotonic()
        page.get_by_role("button", name="Play").click()
        time.sleep(seconds)
        elapsed = time.monotonic() - started
        cpu = server.cpu_seconds() - cpu_before
        times = page.evaluate("() => __bench.changes.map(c => c.data)")
        span_s = (times[-1] - times[0]) / 1000 if len(times) > 1 else 0
        fps = (len(times) - 1) / span_s if span_s > 0 else 0.0
        return fps, cpu / elapsed, len(times)
    finally:
        context.close()


def _p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run(repeats=5, quick=False):
    from playwright.sync_api import sync_playwright

    blocks = 2 if quick else max(5, repeats)
    per_block = 4 if quick else 10
    results = {kind: {"load": [], "bytes": [], "tap_data": [], "tap_paint": [], "slider": [],
                      "step": [], "scripts": []} for kind in KINDS}
    servers = {kind: Server(kind) for kind in KINDS}
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=CHROMIUM_ARGS, headless=True)
            for kind in KINDS:  # one untimed visit each: caches, first imports
                context = cold_load(browser, servers[kind])[3]
                context.close()
            for block in range(blocks):
                order = KINDS[block % 3:] + KINDS[:block % 3]
                for kind in order:
                    print(f"  [browser] {time.strftime('%H:%M:%S')} block {block + 1}/{blocks}"
                          f" {kind}", file=sys.stderr, flush=True)
                    ready_ms, wire, scripts, context, page = cold_load(browser, servers[kind])
                    r = results[kind]
                    r["load"].append(ready_ms)
                    r["bytes"].append(wire)
                    r["scripts"] = scripts
                    try:
                        _open_lesson2(page, kind)
                        d, pt = taps(page, per_block)
                        r["tap_data"] += d
                        r["tap_paint"] += pt
                        r["slider"] += slider_changes(page, per_block)
                        r["step"] += steps(page, kind, per_block)
                    finally:
                        context.close()
            try:
                fps, cpu_per_s, frames = play(browser, servers["app"], 3 if quick else 6)
            except Exception as error:  # report the rest of the section anyway
                print(f"  [browser] Play failed: {error}", file=sys.stderr)
                fps, cpu_per_s, frames = 0.0, float("nan"), 0
            browser.close()
    finally:
        for server in servers.values():
            server.stop()

    def stat(kind, key, q):
        return _p(results[kind][key], q) if q != "median" else statistics.median(
            results[kind][key])

    def add(name, key, q, unit_scale=1.0, unit="ms", target=None, check=None, note=""):
        values = {kind: stat(kind, key, q) * unit_scale for kind in KINDS}
        for kind in KINDS:
            ok = check(values) if (check and kind == "app") else None
            rows.append({"name": f"{kind}: {name}", "value": values[kind], "unit": unit,
                         "target": target if kind == "app" else None, "ok": ok,
                         "note": note if kind == "app" else ""})
        for base in ("panel", "bokeh"):
            rows.append({"name": f"ratio app / {base}: {name}",
                         "value": values["app"] / values[base], "unit": "×",
                         "target": None, "ok": None, "note": ""})
        return values

    lost = {kind: [what for k, what in LOST if k == kind] for kind in KINDS}
    rows.append({"name": "actions without an answer within 10 s (left out of the numbers)",
                 "value": float(len(LOST)), "unit": "", "target": None, "ok": None,
                 "note": "; ".join(f"{kind}: {len(w)} ({', '.join(sorted(set(w)))})"
                                   for kind, w in lost.items() if w) or "none"})
    n_loads = len(results["app"]["load"])
    add(f"cold load to interactive (median of {n_loads})", "load", "median",
        target="≤ 1.1× Panel baseline", check=lambda v: v["app"] <= 1.1 * v["panel"],
        note="first tab's models present, document idle")
    add("bytes over the wire (median)", "bytes", "median", unit_scale=1 / 1e6, unit="MB",
        target="≤ 1.2 MB", check=lambda v: v["app"] <= 1.2,
        note="scripts: " + ", ".join(results["app"]["scripts"]))
    n = len(results["app"]["tap_data"])
    add(f"tap → path data p50 (app n={n})", "tap_data", 0.5)
    add(f"tap → path data p95 (app n={n})", "tap_data", 0.95,
        target="≤ 1.2× Panel baseline and ≤ 30 ms",
        check=lambda v: v["app"] <= 1.2 * v["panel"] and v["app"] <= 30)
    add(f"tap → painted frame p50 (app n={n})", "tap_paint", 0.5)
    add(f"tap → painted frame p95 (app n={n})", "tap_paint", 0.95)
    n = len(results["app"]["slider"])
    add(f"η slider → path data p50 (app n={n})", "slider", 0.5,
        target="≤ 2× pure Bokeh", check=lambda v: v["app"] <= 2 * v["bokeh"])
    add(f"η slider → path data p95 (app n={n})", "slider", 0.95)
    n = len(results["app"]["step"])
    add(f"Step downhill → new point p50 (app n={n})", "step", 0.5)
    add(f"Step downhill → new point p95 (app n={n})", "step", 0.95)
    rows.append({"name": "app: lesson 2 Play, frames delivered per second (speed 60)",
                 "value": fps, "unit": "fps", "target": "≥ 30 fps", "ok": fps >= 30,
                 "note": f"{frames} path changes counted in the browser"})
    rows.append({"name": "app: lesson 2 Play, server CPU per animated second",
                 "value": cpu_per_s * 1e3, "unit": "ms/s", "target": "≤ 2 ms/s",
                 "ok": cpu_per_s <= 0.002, "note": "psutil, server process"})
    return rows
