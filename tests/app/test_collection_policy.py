"""app/server.py's CollectionPolicy: what students' joins build is frozen (the collector's
automatic collections no longer walk it), and closed sessions' memory is reclaimed once a
quarter of the open ones have closed, after a quiet moment; plus the collection log."""

import gc
import weakref

import pytest

from app import upstream_patches
from app.server import CollectionPolicy, log_collections


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Session:
    """A stand-in for a session's objects: a reference cycle only the collector frees."""

    def __init__(self):
        self.me = self


@pytest.fixture
def policy():
    gc.collect()
    clock = Clock()
    yield CollectionPolicy(clock=clock), clock
    gc.unfreeze()  # give the test process its collector back


def test_a_join_freezes_what_is_alive_and_a_closed_session_waits_for_the_reclaim(policy):
    policy, clock = policy
    session = Session()
    alive = weakref.ref(session)
    policy.joined(None)
    policy.tick()
    assert gc.get_freeze_count() > 0 and policy.freezes == 1
    del session
    policy.left(None)
    gc.collect()
    assert alive() is not None  # frozen: a full collection does not walk it
    clock.now += 1.0
    policy.tick()  # closed a second ago: not yet
    assert alive() is not None and policy.reclaims == 0
    clock.now += CollectionPolicy.QUIET_S
    policy.tick()
    assert alive() is None and policy.reclaims == 1
    assert gc.get_freeze_count() > 0  # the survivors are frozen again


def test_closed_sessions_are_reclaimed_once_a_quarter_of_the_open_ones_closed(policy):
    policy, clock = policy
    for _ in range(9):
        policy.joined(None)
    policy.left(None)  # 1 closed, 8 open: below a quarter
    clock.now += CollectionPolicy.QUIET_S + CollectionPolicy.FREEZE_FOR_S + 1
    policy.tick()
    assert policy.reclaims == 0
    policy.left(None)  # 2 closed, 7 open
    clock.now += CollectionPolicy.QUIET_S
    policy.tick()
    assert policy.reclaims == 1 and policy.closed == 0


def test_without_joins_nothing_is_frozen(policy):
    policy, clock = policy
    policy.joined(None)
    clock.now += CollectionPolicy.FREEZE_FOR_S + 1
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
    """On a live server (in this process, its own loop): a session that opens and closes is
    counted by the policy's Panel callbacks (whose signature Bokeh checks) and reclaimed."""
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

        async def scenario():
            session = await BokehSession.open(f"http://127.0.0.1:{port}/", timeout=60)
            await session.ready(("derivative-figure",), timeout=60)
            joined = policy.open
            await session.close()
            for _ in range(100):
                if policy.reclaims:
                    break
                await asyncio.sleep(0.2)
            return joined

        assert asyncio.run(scenario()) >= 1
        assert policy.freezes >= 1 and policy.reclaims >= 1 and policy.open == 0
    finally:
        import panel as pn

        pn.state._on_session_created.remove(box["policy"].joined)
        pn.state._on_session_destroyed.remove(box["policy"].left)
        CollectionPolicy._installed = previous
        loop.add_callback(box["server"].stop)
        loop.add_callback(loop.stop)
        thread.join(30)
        gc.unfreeze()
