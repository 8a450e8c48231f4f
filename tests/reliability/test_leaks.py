"""Sessions that come and go leave nothing behind: 3 rounds of open → interact → close
(benchmarks/load.py's churn) against a server in this process, so pn.state can be read.

Run with DOWNHILL_LEAK_TEST=1 (it churns DOWNHILL_LEAK_SESSIONS, default 40, sessions per round,
about 5 minutes); `make bench` runs the full 200 × 3 against a `downhill` subprocess and reports
the RSS per round. Not in the default `make test`: on a clean-clone CI run one closed session
(closed right after a button click, when Panel/Bokeh log "_pending_writes should be non-None")
was sometimes never discarded within 30 s — an open finding of issue 6, not yet understood."""

import ctypes
import ctypes.util
import gc
import os
import threading
import time

import panel as pn
import psutil
import pytest

from app.cli import MAIN, parse_args, server_options
from benchmarks.load import LEAK_RSS_LIMIT, churn
from tests.reliability.conftest import run
from tests.ui.conftest import free_port, wait_for_http

pytestmark = pytest.mark.skipif(
    os.environ.get("DOWNHILL_LEAK_TEST") != "1",
    reason="leak churn (~5 min) runs with DOWNHILL_LEAK_TEST=1 and in make bench",
)

SESSIONS = int(os.environ.get("DOWNHILL_LEAK_SESSIONS", "40"))
ROUNDS = 3


M_ARENA_MAX = -8  # glibc's mallopt parameter behind the MALLOC_ARENA_MAX variable


def limit_malloc_arenas(arenas):
    """What the image's ENV MALLOC_ARENA_MAX=2 does, for this (already running) process."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name)
    return hasattr(libc, "mallopt") and libc.mallopt(M_ARENA_MAX, arenas) == 1


def live_session_count():
    return sum(len(server.get_sessions()) for server, _panel, _docs in pn.state._servers.values())


def per_session_state():
    """Everything pn.state keeps per document or per session: all of it must go when the
    sessions go (the WeakKeyDictionaries empty out only when the documents are freed)."""
    return {
        "views": len(pn.state._views),
        "periodic callbacks": sum(len(c) for c in pn.state._periodic.values()),
        "periodic docs": len(pn.state._periodic),
        "locations": len(pn.state._locations),
        "browsers": len(pn.state._browsers),
        "onload": len(pn.state._onload),
        "change callbacks": len(pn.state._change_callbacks),
        "server docs": sum(len(docs) for _s, _p, docs in pn.state._servers.values()),
    }


def wait_until_discarded(timeout=30.0):
    """The server discards closed sessions on its unused-session timer: wait for it."""
    deadline = time.monotonic() + timeout
    while live_session_count() and time.monotonic() < deadline:
        time.sleep(0.1)  # polling the server's session table
    assert live_session_count() == 0, f"{live_session_count()} sessions never discarded"
    gc.collect()


@pytest.fixture(scope="module")
def in_process_server():
    from tests.deploy import dockerfile

    limit_malloc_arenas(int(dockerfile.environment()["MALLOC_ARENA_MAX"]))
    port = free_port()
    options = server_options(parse_args(["--port", str(port), "--address", "127.0.0.1",
                                         "--no-browser"]))
    # Discard closed sessions after 1 s instead of Bokeh's 15 s (checked every 0.5 s).
    options.update(threaded=True, check_unused_sessions_milliseconds=500,
                   unused_session_lifetime_milliseconds=1000)
    server = pn.serve({"/": str(MAIN)}, **options)
    wait_for_http(f"http://127.0.0.1:{port}/liveness")
    yield f"http://127.0.0.1:{port}/"
    server.stop()


@pytest.fixture(scope="module")
def three_rounds(in_process_server):
    """Churn three rounds; what was left after each: RSS, threads, per-session state."""
    url = in_process_server
    process = psutil.Process()
    rounds = dict(baseline=per_session_state(), rss=[], threads=[], states=[], scheduled=[])
    for _round in range(ROUNDS):
        errors = run(churn(url, SESSIONS))
        assert not errors, errors[:5]
        wait_until_discarded()
        rounds["rss"].append(process.memory_info().rss)
        rounds["threads"].append(threading.active_count())
        rounds["states"].append(per_session_state())
        # Panel schedules a one-off gc.collect after a session ends: not a session's task.
        rounds["scheduled"].append(
            sorted(k for k in pn.state._scheduled if not k.endswith("_gc.collect"))
        )
    print("RSS after each round (MB):", [round(r / 1e6, 1) for r in rounds["rss"]],
          "threads:", rounds["threads"])
    return rounds


def test_closed_sessions_leave_no_views_callbacks_documents_or_threads(three_rounds):
    for state in three_rounds["states"]:
        assert state == three_rounds["baseline"]
    # Scheduled tasks are per server, not per session: no round leaves one behind.
    assert three_rounds["scheduled"] == [[]] * ROUNDS, three_rounds["scheduled"]
    threads = three_rounds["threads"]
    assert threads[-1] <= threads[0]


@pytest.mark.xfail(strict=False, reason=(
    "open: at 40 sessions/round RSS grew 13 + 7 MB after round 1 (174 -> 188 -> 194 MB, "
    "MALLOC_ARENA_MAX=2), decelerating, with Python objects flat (tracemalloc) and no "
    "per-session state left: allocator retention or a small native per-session leak; the "
    "full 200 x 3 figure is the `load` section of make bench"))
def test_rss_grows_at_most_20_mb_after_the_first_round(three_rounds):
    rss = three_rounds["rss"]
    assert rss[-1] - rss[0] <= LEAK_RSS_LIMIT, [r / 1e6 for r in rss]
