"""Browser tests: Playwright driving Debian's chromium (never a downloaded browser).

Where chromium cannot be had (a laptop without root) these tests are skipped loudly;
with DOWNHILL_REQUIRE_BROWSER=1 (set by .ci/run) a missing browser is a failure instead.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from benchmarks.servers import terminate

CHROMIUM = shutil.which("chromium") or shutil.which("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config, items):
    ui_items = [item for item in items if "tests/ui/" in str(item.fspath).replace(os.sep, "/")]
    for item in ui_items:
        item.add_marker(pytest.mark.browser)
        # One rerun for browser tests: under CPU load a real-browser animation or round trip
        # can miss a timeout (seen once each in clean-clone runs). A test that fails twice
        # fails; `-p no:rerunfailures` turns reruns off to hunt the flakes.
        if config.pluginmanager.hasplugin("rerunfailures"):
            item.add_marker(pytest.mark.flaky(reruns=1))
    if CHROMIUM or not ui_items:
        return
    if os.environ.get("DOWNHILL_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(
            "chromium is missing and DOWNHILL_REQUIRE_BROWSER=1: browser tests cannot run"
        )
    skip = pytest.mark.skip(reason="BROWSER TESTS SKIPPED: chromium not installed")
    for item in ui_items:
        item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    if not CHROMIUM:
        terminalreporter.write_sep(
            "*", "chromium missing: BROWSER TESTS WERE SKIPPED", red=True, bold=True
        )


# --------------------------------------------------------------------------------------------
# A real server and a real browser, shared by the browser tests.


ROOT = Path(__file__).resolve().parents[2]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_log(proc, last=4000):
    """The end of a server's output (start_server writes it to a file of its own)."""
    log = getattr(proc, "log", None)
    if log is None:
        return ""
    log.flush()
    log.seek(0)
    return log.read()[-last:]


def wait_for_http(url, timeout=60.0, proc=None):
    """Poll until `url` answers 200 (the server is up) or fail with the server's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server_log(proc)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)  # polling a server process, not waiting in a browser test
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def start_server(command, port, env=None):
    """Start a server process; return it once its page answers.

    Its output goes to a temporary file, never to a pipe: nobody reads a pipe while a test
    runs, and a server whose log (hostile input logs tracebacks) fills the pipe's 64 KB
    blocks on its next write and stops answering.
    """
    log = tempfile.TemporaryFile(mode="w+", prefix="downhill-server-", suffix=".log")
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            text=True)
    proc.log = log
    try:
        wait_for_http(f"http://127.0.0.1:{port}/liveness", proc=proc)
    except Exception:
        proc.kill()
        raise
    return proc


def stop_server(proc):
    terminate(proc)
    if getattr(proc, "log", None) is not None:
        proc.log.close()


@pytest.fixture(scope="session")
def server_url():
    """The app served by `downhill` (the same server the README's `make run` starts)."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("downhill")),
        "--port", str(port), "--address", "127.0.0.1", "--no-browser",
    ]
    proc = start_server(command, port)
    yield f"http://127.0.0.1:{port}/"
    stop_server(proc)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class PageRecorder:
    """What a page did: console errors and every request that tried to leave localhost."""

    def __init__(self):
        self.console_errors = []
        self.external_requests = []


PHONE = dict(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
             device_scale_factor=3)
"""A student's phone: 390×844 CSS px, touch, device scale 3."""


@contextlib.contextmanager
def phone_page(browser, server_url):
    """A page in a fresh phone context (PHONE), closed afterwards: (page, errors, outside),
    the page's errors and the requests it made to anywhere but the server."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors, outside = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: r.url.startswith((server_url, "blob:", "data:"))
            or outside.append(r.url))
    try:
        yield page, errors, outside
    finally:
        context.close()


@pytest.fixture
def page(browser):
    """A fresh context (1366×768 laptop) that aborts and records any non-localhost request."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    recorder = PageRecorder()

    def guard(route):
        host = urlparse(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            recorder.external_requests.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and recorder.console_errors.append(m.text))
    page.on("pageerror", lambda e: recorder.console_errors.append(str(e)))
    page.recorder = recorder
    yield page
    context.close()


def wait_for_models(page, names, timeout=30_000, scroll=True):
    """Wait until the Bokeh document holds every named model (a crashed app script still
    yields an empty, idle document, so presence of the models is the real check).

    Lesson 1 builds the parts below its first screen when the student scrolls to them
    (app/reveal.py); while a named model is missing, this scrolls to such a part's
    placeholder, as a student would (`scroll=False`: never scroll)."""
    page.wait_for_function(
        """([names, scroll]) => {
            const docs = (window.Bokeh && window.Bokeh.documents) || [];
            if (!docs.length) return false;
            if (names.every(n => docs[0].get_model_by_name(n) != null)) return true;
            if (!scroll) return false;
            for (const m of docs[0]._all_models.values()) {
                const data = m.data;  // app/reveal.py's Reveal: its data model is "reveal-…"
                if (data == null || !String(data.name).startsWith("reveal-") || data.seen)
                    continue;
                const view = Bokeh.index.find_one(m);
                if (view != null && view.el.isConnected && view.el.getClientRects().length) {
                    view.el.scrollIntoView({block: "center"});
                    break;
                }
            }
            return false;
        }""",
        arg=[list(names), scroll],
        timeout=timeout,
        polling=100,
    )


def model_property(page, name, prop):
    """Read a property of a named Bokeh model in the browser (e.g. a source's `data`)."""
    return page.evaluate(
        """([name, prop]) => {
            const m = Bokeh.documents[0].get_model_by_name(name);
            const v = m[prop];
            if (v instanceof Map) {
                const out = {};
                for (const [k, a] of v) out[k] = Array.from(a);
                return out;
            }
            return v;
        }""",
        [name, prop],
    )


# --------------------------------------------------------------------------------------------
# Helpers for the lesson tests (app lessons 1–2 helper).

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
VIEWPORTS = {"laptop": (1366, 768), "projector": (1920, 1080)}


def open_page(page, server_url, names=()):
    """Load the page and wait until the named models exist."""
    page.goto(server_url)
    wait_for_models(page, list(names) or ["derivative-figure"])


def open_tab(page, title, names=()):
    """Click the tab with this title and wait until it is the active one and, when `names`
    are given, until its lesson's named models exist (a lesson is built when its tab is
    first opened)."""
    import re

    from playwright.sync_api import expect

    tab = page.locator(".bk-tab", has_text=title).first
    tab.click()
    expect(tab).to_have_class(re.compile(r"\bbk-active\b"))
    if names:
        wait_for_models(page, names)


def widget_value(page, title):
    """The value of the Bokeh widget model whose visible label (`title`) is `title`."""
    return page.evaluate(
        """title => {
            for (const m of Bokeh.documents[0]._all_models.values())
                if (m.title === title && 'value' in m) return m.value;
            return null;
        }""",
        title,
    )


def set_widget_value(page, title, value):
    """Set a widget's value in the browser, as if the user had moved it (syncs to the server)."""
    found = page.evaluate(
        """([title, value]) => {
            for (const m of Bokeh.documents[0]._all_models.values())
                if (m.title === title && 'value' in m) { m.value = value; return true; }
            return false;
        }""",
        [title, value],
    )
    assert found, f"no widget labelled {title!r}"


def frame_geometry(page, figure_name):
    """Where a figure's plotting frame is on the page (CSS px) and the data ranges it shows."""
    return page.evaluate(
        """name => {
            const fig = Bokeh.documents[0].get_model_by_name(name);
            const view = Bokeh.index.find_one(fig);
            const canvas = view.canvas_view.el.getBoundingClientRect();
            const bbox = view.frame.bbox;
            return {left: canvas.left + bbox.left, top: canvas.top + bbox.top,
                    width: bbox.width, height: bbox.height,
                    x_start: fig.x_range.start, x_end: fig.x_range.end,
                    y_start: fig.y_range.start, y_end: fig.y_range.end};
        }""",
        figure_name,
    )


def wait_for_data(page, source, predicate_js, timeout=15_000):
    """Wait until `predicate_js` (a JS expression over `d`, the source's data as plain
    arrays) is true for the named ColumnDataSource."""
    page.wait_for_function(
        f"""name => {{
            const m = Bokeh.documents[0].get_model_by_name(name);
            if (m == null) return false;
            const d = {{}};
            const entries = m.data instanceof Map ? [...m.data] : Object.entries(m.data);
            for (const [k, a] of entries) d[k] = Array.from(a);
            return ({predicate_js});
        }}""",
        arg=source,
        timeout=timeout,
    )


def screenshot(page, name):
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def wait_for_status(page, fragment, timeout=15_000):
    """Wait until lesson 2's status pane's HTML contains `fragment` (Panel's HTML model
    holds it escaped)."""
    page.wait_for_function(
        """fragment => {
            const m = Bokeh.documents[0].get_model_by_name('landscape-status');
            const decoder = document.createElement('textarea');
            decoder.innerHTML = m.text;
            return decoder.value.includes(fragment);
        }""",
        arg=fragment,
        timeout=timeout,
    )
