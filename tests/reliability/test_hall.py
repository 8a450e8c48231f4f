"""The hall benchmark's harness (benchmarks/hall.py) with a handful of students: two `downhill`
processes behind nginx (configured from deploy/nginx.conf), four sessions open lesson 2 by its
link and tap the landscape; every tap must move the path, and every process must be gone after.
Behaviour only: `make bench` times the full-size hall."""

import math

import psutil
import pytest

from benchmarks.hall import report, run_hall
from benchmarks.nginx import NGINX

needs_nginx = pytest.mark.skipif(
    NGINX is None,
    reason="HALL TEST SKIPPED: nginx is not installed and could not be installed here "
    "(scripts/ensure-nginx installs Debian's nginx when run as root)",
)


@pytest.fixture(scope="module")
def hall():
    return run_hall("app", sessions=4, processes=2, front=True, ramp_s=2.0, window_s=5.0,
                    period_s=1.0)


@needs_nginx
def test_every_student_joins_and_every_tap_moves_the_path(hall):
    assert hall.joined == 4 and not hall.join_errors
    # A few taps each (one a second for 5 s, from a random phase), every one answered by a
    # patch that put landscape-path's first point where the tap was.
    assert hall.taps_asked >= 4 * 3
    assert hall.answered == hall.taps_asked, hall.tap_errors
    assert not hall.server_errors and hall.errors == 0
    # Through nginx, with the cookies a browser keeps: every websocket reached the replica
    # that built its page (deploy/nginx.conf's affinity cookie), and all were counted.
    assert hall.cookies and hall.crossed == 0
    assert sum(hall.by_replica.values()) == hall.joined
    assert None not in hall.by_replica  # every upgrade reply named its replica


@needs_nginx
def test_the_report_has_every_row_and_finite_numbers(hall):
    rows = report([hall])
    names = [row["name"] for row in rows]
    for what in ("join time p95", "tap p95", "tap p50", "errors", "RSS per session",
                 "taps answered per second", "server CPU per tap"):
        assert f"{hall.label}: {what}" in names
    for row in rows:
        assert row["value"] is not None and math.isfinite(row["value"]), row
    assert hall.server_cpu_s > 0 and hall.cpu_per_tap_s > 0


@needs_nginx
def test_every_process_started_is_gone(hall):
    # Two servers and nginx (master and worker) at least.
    assert len(hall.pids) >= 4
    assert [pid for pid in hall.pids if psutil.pid_exists(pid)] == []

