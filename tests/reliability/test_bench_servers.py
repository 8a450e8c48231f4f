"""The benchmark's servers (benchmarks/servers.py): every kind starts, is probed at /liveness
(a GET of the page would build a session whose teardown lands in a later measurement),
serves its page, and is gone after stop()."""

import urllib.request

import psutil
import pytest

from benchmarks.servers import KINDS, STOCK, Server


@pytest.mark.parametrize("kind", [*KINDS, STOCK])
def test_each_benchmark_server_answers_liveness_and_its_page_then_stops(kind):
    with Server(kind) as server:
        with urllib.request.urlopen(server.url + "liveness", timeout=30) as reply:
            assert reply.status == 200
        with urllib.request.urlopen(server.url, timeout=60) as reply:
            assert reply.status == 200
            assert b"token" in reply.read()  # a Bokeh page with a session to connect to
        pid = server.proc.pid
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
