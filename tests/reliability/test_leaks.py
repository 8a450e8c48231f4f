"""Sessions that come and go leave nothing behind (issue 6's leak test).

Three rounds of benchmarks/load.py's churn — open a session as a browser does, move lesson 1's
`w`, every tenth session also opens lesson 3, clicks Forward and closes while the animation's
periodic callback runs — against a server in this process, so its state can be read:

* the server's own session table (Bokeh's `Server.get_sessions()`) is empty again: every
  closed session was discarded (`--session-lifetime 1`, the documented flag, so within
  seconds instead of 15 s), and Bokeh Documents and lesson objects do not pile up;
* pn.state holds nothing per session: no views, periodic callbacks, locations, ...; no
  PeriodicCallback is still running anywhere, no task is scheduled, no thread was added;
* the process's RSS grew at most 20 MB from the end of round 1 to the end of round 3.

The server is the one `downhill` serves (app.cli's options, arenas limited as `downhill` does
at start-up), on a thread of this process instead of the main thread.

Sessions per round: DOWNHILL_LEAK_SESSIONS (default SESSIONS below). Each session costs the
server ~0.5-1 s of CPU to build its page (Panel/Bokeh model construction, one core), so
200 × 3 takes 10-25 min on a shared 2-core CI machine; the default keeps this test within
~6 min and `make bench` (benchmarks/load.py) runs the full 200 × 3 against a `downhill`
process.
"""

import asyncio
import gc
import os
import threading
import time

import panel as pn
import psutil
import pytest
from bokeh.document import Document
from bokeh.util.token import get_session_id
from panel.io.callbacks import PeriodicCallback

from app import cli
from app.cli import MAIN, limit_malloc_arenas, parse_args, server_options
from benchmarks.load import LEAK_RSS_LIMIT, churn, open_session
from tests.reliability.conftest import run
from tests.ui.conftest import free_port, wait_for_http

SESSIONS = int(os.environ.get("DOWNHILL_LEAK_SESSIONS", "30"))
ROUNDS = 3
DISCARD_TIMEOUT = 180.0  # seconds for the server to discard a round's closed sessions
SETTLE_TIMEOUT = 60.0  # seconds for pn.state to let go of the discarded sessions


def live_sessions(url):
    """The sessions the server at `url` still holds (Bokeh's own table). Only that server:
    a server an earlier test ran on a loop it then stopped keeps its sessions forever."""
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    return sum(len(server.get_sessions()) for server, _panel, _docs in pn.state._servers.values()
               if server.port == port)


def alive(kind):
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, kind)]


def lesson_objects():
    """Lesson views (app.* Viewers) that are still alive."""
    return [o for o in alive(pn.viewable.Viewer) if type(o).__module__.startswith("app.")]


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
        "loaded": len(pn.state._loaded),
        "change callbacks": len(pn.state._change_callbacks),
        "server docs": sum(len(docs) for _s, _p, docs in pn.state._servers.values()),
    }


def running_session_callbacks():
    """PeriodicCallbacks still running, except the server's own housekeeping (Panel's busy
    counter, a method of pn.state started with the server)."""
    return [cb for cb in alive(PeriodicCallback)
            if cb.running and getattr(cb.callback, "__self__", None) is not pn.state]


def released():
    """What must be exactly as before any session: per-session state, periodic callbacks,
    scheduled tasks."""
    return dict(
        state=per_session_state(),
        running_callbacks=len(running_session_callbacks()),
        # Panel schedules a one-off gc.collect after a session ends: not a session's task.
        scheduled=sorted(k for k in pn.state._scheduled if not k.endswith("_gc.collect")),
    )


def retained():
    """Bokeh Documents and lesson objects alive. Not compared with the start: Bokeh's
    curstate() and the loop thread's context variables keep the last current document (one
    per thread, not one per session); a leak shows as growth from round to round."""
    return dict(documents=len(alive(Document)), lessons=len(lesson_objects()))


def wait_until_released(baseline, timeout=SETTLE_TIMEOUT):
    """Discarding runs Panel's clean-up on the server's loop: wait until pn.state is back to
    `baseline` (or the timeout), then return what it holds."""
    deadline = time.monotonic() + timeout
    while released() != baseline and time.monotonic() < deadline:
        time.sleep(0.5)
    return released()


def wait_until_discarded(url, timeout=DISCARD_TIMEOUT):
    """Wait (polling the server's table) until the server has discarded every session."""
    deadline = time.monotonic() + timeout
    while live_sessions(url) and time.monotonic() < deadline:
        time.sleep(0.2)
    return live_sessions(url)


@pytest.fixture(scope="module")
def in_process_server():
    limit_malloc_arenas()  # as `downhill` does first thing (this process has threads already)
    port = free_port()
    args = parse_args(["--port", str(port), "--address", "127.0.0.1", "--no-browser",
                       "--session-lifetime", "1"])
    server = pn.serve({"/": str(MAIN)}, **dict(server_options(args), threaded=True))
    wait_for_http(f"http://127.0.0.1:{port}/liveness")
    yield f"http://127.0.0.1:{port}/"
    server.stop()


@pytest.fixture(scope="module")
def three_rounds(in_process_server):
    """Churn three rounds; what was left after each (once the server discarded them)."""
    process = psutil.Process()
    rounds = dict(baseline=released(), errors=[], undiscarded=[], seconds=[], rss=[],
                  threads=[], left=[], retained=[])
    for _round in range(ROUNDS):
        started = time.monotonic()
        rounds["errors"].append(run(churn(in_process_server, SESSIONS)))
        rounds["undiscarded"].append(wait_until_discarded(in_process_server))
        rounds["seconds"].append(round(time.monotonic() - started))
        rounds["left"].append(wait_until_released(rounds["baseline"]))
        rounds["retained"].append(retained())
        rounds["rss"].append(process.memory_info().rss)
        rounds["threads"].append(threading.active_count())
    print(f"\n{SESSIONS} sessions x {ROUNDS}: RSS after each round (MB):",
          [round(r / 1e6, 1) for r in rounds["rss"]], "threads:", rounds["threads"],
          "seconds:", rounds["seconds"], "retained:", rounds["retained"])
    return rounds


def test_every_session_of_every_round_worked(three_rounds):
    assert three_rounds["errors"] == [[]] * ROUNDS, [e[:5] for e in three_rounds["errors"]]


def test_the_server_discards_every_closed_session(three_rounds):
    assert three_rounds["undiscarded"] == [0] * ROUNDS


def test_closed_sessions_leave_no_state_periodic_callbacks_or_tasks(three_rounds):
    assert three_rounds["left"] == [three_rounds["baseline"]] * ROUNDS


def test_closed_sessions_leave_no_documents_or_lessons_behind(three_rounds):
    first, *later = three_rounds["retained"]
    for retained_after in later:
        assert retained_after["documents"] <= first["documents"], three_rounds["retained"]
        assert retained_after["lessons"] <= first["lessons"], three_rounds["retained"]


def test_closed_sessions_leave_no_threads(three_rounds):
    threads = three_rounds["threads"]
    assert threads[-1] <= threads[0], threads


def test_rss_grows_at_most_20_mb_after_the_first_round(three_rounds):
    rss = three_rounds["rss"]
    assert rss[-1] - rss[0] <= LEAK_RSS_LIMIT, [round(r / 1e6, 1) for r in rss]


# --------------------------------------------------------------------------------------------
# The start-up pieces the test relies on


def test_session_lifetime_flag_sets_bokehs_discard_timing():
    options = server_options(parse_args(["--session-lifetime", "1", "--no-browser"]))
    assert options["unused_session_lifetime_milliseconds"] == 1000
    assert options["check_unused_sessions_milliseconds"] == 500
    default = server_options(parse_args(["--no-browser"]))
    assert default["unused_session_lifetime_milliseconds"] == 15000
    assert default["check_unused_sessions_milliseconds"] == 7500
    with pytest.raises(SystemExit):
        parse_args(["--session-lifetime", "0"])


def test_arena_limit_applies_on_glibc_and_defers_to_the_environment(monkeypatch):
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    glibc = (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    assert limit_malloc_arenas() is glibc
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")
    assert limit_malloc_arenas() is False


def test_downhill_limits_arenas_before_it_parses_or_serves(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "limit_malloc_arenas", lambda: calls.append("arenas"))
    monkeypatch.setattr(cli, "parse_args", lambda argv: calls.append("parse") or argv)
    monkeypatch.setattr(cli, "server_options", lambda args: {})
    monkeypatch.setattr(cli.server, "serve", lambda panels, **options: calls.append("serve"))
    cli.main([])
    assert calls == ["arenas", "parse", "serve"]


def test_churn_sessions_are_loaded_as_a_browsers_are(in_process_server):
    """The churn opens sessions as a browser does, document_ready included, so Panel marks
    them loaded (a session that never is takes a click's changes outside Bokeh's document
    lock: "_pending_writes should be non-None")."""

    async def loaded_on_the_server():
        session = await open_session(in_process_server)
        try:
            session_id = get_session_id(session.token)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                for server, _panel, _docs in pn.state._servers.values():
                    for server_session in server.get_sessions():
                        if (server_session.id == session_id
                                and pn.state._loaded.get(server_session.document)):
                            return True
                await asyncio.sleep(0.05)
            return False
        finally:
            await session.close()

    assert run(loaded_on_the_server())
