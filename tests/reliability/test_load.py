"""Concurrent sessions: every one interacts every 2 s and gets every reply, no errors.
`make test` runs DOWNHILL_LOAD_SESSIONS (default 30) sessions for 10 s; the issue's full
200 sessions × 60 s is the `load` section of `make bench` (benchmarks/load.py)."""

import os

from benchmarks.load import load
from tests.reliability.conftest import run

SESSIONS = int(os.environ.get("DOWNHILL_LOAD_SESSIONS", "30"))
SECONDS = float(os.environ.get("DOWNHILL_LOAD_SECONDS", "10"))


def test_concurrent_sessions_get_a_reply_for_every_interaction_and_no_errors(server):
    url, proc = server
    result = run(load(url, sessions=SESSIONS, seconds=SECONDS, interval=2.0))
    print(result.summary())
    assert not result.errors, result.errors[:5]
    assert result.interactions >= SESSIONS * (SECONDS / 2.0 - 1)
    assert result.replies == result.interactions
    assert proc.poll() is None
