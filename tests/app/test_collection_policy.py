"""app/server.py's CollectionPolicy: what students' joins build is frozen (the collector's
automatic collections no longer walk it), and closed sessions' memory is reclaimed only when
the process is idle or when closed sessions reach the bound (as many as the open ones), busy or
not; plus the collection log."""

import gc
import weakref

import pytest

from app import upstream_patches
from app.server import CollectionPolicy, log_collections


class Clock:
    """A settable clock (the policy's wall clock, or its process CPU time)."""

    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


class Session:
    """A stand-in for a session's objects: a reference cycle only the collector frees."""

    def __init__(self):
        self.me = self


@pytest.fixture
def policy():
    gc.collect()
    clock, cpu = Clock(), Clock(0.0)
    policy = CollectionPolicy(clock=clock, cpu=cpu)
    policy.clocks = clock, cpu
    yield policy
    gc.unfreeze()  # give the test process its collector back


def run_for(policy, seconds, busy):
    """Tick once a second for `seconds`, the process using `busy` of a core meanwhile."""
    clock, cpu = policy.clocks
    for _ in range(round(seconds / CollectionPolicy.TICK_S)):
        clock.now += CollectionPolicy.TICK_S
        cpu.now += busy * CollectionPolicy.TICK_S
        policy.tick()


def join(policy, students):
    for _ in range(students):
        policy.joined(None)


def test_a_join_freezes_what_is_alive_and_a_closed_session_waits_for_a_quiet_moment(policy):
    join(policy, 2)
    session = Session()
    alive = weakref.ref(session)
    run_for(policy, 1, busy=0.5)
    assert gc.get_freeze_count() > 0 and policy.freezes == 1
    del session
    policy.left(None)  # 1 closed, 1 open: at the bound ...
    join(policy, 1)  # ... not any more: 1 closed, 2 open
    gc.collect()
    assert alive() is not None  # frozen: a full collection does not walk it
    run_for(policy, 30, busy=0.3)  # students tapping: 30 % of a core
    assert alive() is not None and policy.reclaims == 0
    run_for(policy, CollectionPolicy.QUIET_S, busy=0.0)  # a quiet moment
    assert alive() is None and policy.reclaims == policy.idle_reclaims == 1
    assert gc.get_freeze_count() > 0  # the survivors are frozen again


def test_a_busy_process_with_closed_sessions_below_the_bound_never_reclaims(policy):
    """The hall's tap window: a third of a replica's pages closed (their websocket went to
    the other replica), the rest tapping. The old policy reclaimed once a quarter had closed,
    a multi-second pause in the middle of the taps."""
    join(policy, 150)
    for _ in range(50):
        policy.left(None)  # 50 closed, 100 open
    run_for(policy, 120, busy=CollectionPolicy.IDLE_SHARE * 2)
    assert policy.reclaims == 0 and policy.closed == 50


def test_an_idle_process_reclaims_once_quiet_for_a_whole_window(policy):
    join(policy, 150)
    for _ in range(10):
        policy.left(None)
    run_for(policy, CollectionPolicy.QUIET_S - 1, busy=0.0)
    assert policy.reclaims == 0  # idle, but not yet for a whole window
    run_for(policy, 1, busy=0.0)
    assert policy.reclaims == policy.idle_reclaims == 1 and policy.closed == 0
    run_for(policy, 30, busy=0.0)
    assert policy.reclaims == 1  # nothing closed since: nothing to reclaim


def test_a_close_restarts_the_quiet_window(policy):
    join(policy, 10)
    policy.left(None)
    run_for(policy, CollectionPolicy.QUIET_S - 1, busy=0.0)
    policy.left(None)  # a second student leaves: wait a whole window after it
    run_for(policy, CollectionPolicy.QUIET_S - 1, busy=0.0)
    assert policy.reclaims == 0
    run_for(policy, 1, busy=0.0)
    assert policy.reclaims == 1


def test_the_bound_reclaims_even_when_busy(policy):
    join(policy, 8)
    for _ in range(3):
        policy.left(None)  # 3 closed, 5 open
    run_for(policy, 10, busy=0.9)
    assert policy.reclaims == 0
    policy.left(None)  # 4 closed, 4 open: the bound
    run_for(policy, 1, busy=0.9)
    assert policy.reclaims == policy.bound_reclaims == 1 and policy.closed == 0
    policy.left(None)  # counted again from the reclaim: 1 closed, 3 open
    run_for(policy, 10, busy=0.9)
    assert policy.reclaims == 1


def test_the_reclaims_own_cpu_does_not_count_against_the_next_quiet_moment(policy,
                                                                          monkeypatch):
    collect = gc.collect

    def slow_collect(*generation):  # a full collection at 150 sessions: seconds of CPU
        if not generation:
            policy.clocks[1].now += 3.0
        return collect(*generation)

    monkeypatch.setattr(gc, "collect", slow_collect)
    join(policy, 4)
    for _ in range(2):
        policy.left(None)
    run_for(policy, 1, busy=0.0)
    assert policy.bound_reclaims == 1
    policy.left(None)  # 1 closed, 1 open: the bound again at the next tick, so ...
    join(policy, 2)  # ... 1 closed, 3 open
    run_for(policy, CollectionPolicy.QUIET_S, busy=0.0)
    assert policy.idle_reclaims == 1


def test_without_joins_nothing_is_frozen(policy):
    policy.joined(None)
    policy.clocks[0].now += CollectionPolicy.FREEZE_FOR_S + 1
    gc.unfreeze()
    policy.tick()
    assert policy.freezes == 0 and gc.get_freeze_count() == 0


def test_panels_collection_after_closed_sessions_can_be_replaced(monkeypatch):
    from panel.io import document as panel_document

    monkeypatch.setattr(panel_document, "_garbage_collect", panel_document._garbage_collect)
    calls = []

    def ours():
        calls.append(1)

    assert upstream_patches.replace_panel_collection(ours)
    assert panel_document._garbage_collect is ours
    panel_document._garbage_collect()
    assert calls == [1]
    assert upstream_patches.check_upstream("Panel's gc.collect") == []


def test_the_collection_log_has_a_line_per_full_collection(tmp_path):
    path = log_collections(str(tmp_path))
    try:
        gc.collect()
        gc.collect(0)
    finally:
        gc.callbacks.pop()
    lines = open(path).read().splitlines()
    full = [line.split() for line in lines if line.split()[1] == "2"]
    assert len(full) == 1
    wall, generation, seconds, collected = full[0]
    assert float(wall) > 1e9 and float(seconds) >= 0 and int(collected) >= 0


def test_the_policy_counts_a_served_sessions_join_and_close(monkeypatch):
    """On a live server (in this process, its own loop): sessions that open and close are
    counted by the policy's Panel callbacks (whose signature Bokeh checks) and reclaimed, the
    first close once the process is idle, the last ones at the bound."""
    import asyncio
    import threading

    from panel.io import document as panel_document
    from tornado.ioloop import IOLoop

    # the rest of the test process keeps Panel's own collection after closed sessions
    monkeypatch.setattr(panel_document, "_garbage_collect", panel_document._garbage_collect)

    from app import server as downhill_server
    from app.cli import MAIN
    from benchmarks.wsclient import BokehSession
    from tests.ui.conftest import free_port

    port, loop, box, ready = free_port(), IOLoop(make_current=False), {}, threading.Event()
    previous = CollectionPolicy._installed
    CollectionPolicy._installed = None

    def run():
        asyncio.set_event_loop(loop.asyncio_loop)
        server = downhill_server.create_server(
            {"/": str(MAIN)}, port=port, address="127.0.0.1", show=False, loop=loop,
            websocket_origin=[f"127.0.0.1:{port}"], verbose=False,
            unused_session_lifetime_milliseconds=500, check_unused_sessions_milliseconds=500)
        box["server"], box["policy"] = server, CollectionPolicy.install(server)
        box["policy"].QUIET_S = 0.5
        server.start()
        loop.add_callback(ready.set)
        loop.start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert ready.wait(60)
        policy = box["policy"]

        async def wait_for(condition):
            for _ in range(150):
                if condition():
                    return True
                await asyncio.sleep(0.2)
            return False

        async def scenario():
            sessions = []
            for _ in range(3):
                session = await BokehSession.open(f"http://127.0.0.1:{port}/", timeout=60)
                await session.ready(("derivative-figure",), timeout=60)
                sessions.append(session)
            joined = policy.open
            await sessions.pop().close()  # 1 closed, 2 open: below the bound ...
            # ... reclaimed once the process is idle (its real CPU time, not a fake clock)
            assert await wait_for(lambda: policy.reclaims)
            assert policy.idle_reclaims == 1 and policy.bound_reclaims == 0
            for session in sessions:  # all gone: the bound
                await session.close()
            assert await wait_for(lambda: policy.open == 0 and policy.reclaims == 2)
            return joined

        assert asyncio.run(scenario()) == 3
        assert policy.freezes >= 1 and policy.bound_reclaims == 1
    finally:
        import panel as pn

        pn.state._on_session_created.remove(box["policy"].joined)
        pn.state._on_session_destroyed.remove(box["policy"].left)
        CollectionPolicy._installed = previous
        loop.add_callback(box["server"].stop)
        loop.add_callback(loop.stop)
        thread.join(30)
        gc.unfreeze()
