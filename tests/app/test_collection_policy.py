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
    policy.joined()
    policy.tick()
    assert gc.get_freeze_count() > 0 and policy.freezes == 1
    del session
    policy.left()
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
        policy.joined()
    policy.left()  # 1 closed, 8 open: below a quarter
    clock.now += CollectionPolicy.QUIET_S + CollectionPolicy.FREEZE_FOR_S + 1
    policy.tick()
    assert policy.reclaims == 0
    policy.left()  # 2 closed, 7 open
    clock.now += CollectionPolicy.QUIET_S
    policy.tick()
    assert policy.reclaims == 1 and policy.closed == 0


def test_without_joins_nothing_is_frozen(policy):
    policy, clock = policy
    policy.joined()
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
