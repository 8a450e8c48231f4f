"""Scale-out: Debian nginx, configured from deploy/nginx.conf, in front of two `downhill`
replicas on loopback ports; Chromium loads the page through it and the session works."""

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.nginx import DEPLOY_CONFIG, NGINX, main_config, site_config
from tests.ui.conftest import (
    free_port,
    open_tab,
    set_widget_value,
    start_server,
    stop_server,
    wait_for_data,
    wait_for_models,
)

DOWNHILL = str(Path(sys.executable).with_name("downhill"))

needs_nginx = pytest.mark.skipif(
    NGINX is None,
    reason="SCALE-OUT TEST SKIPPED: nginx is not installed and could not be installed here "
    "(scripts/ensure-nginx installs Debian's nginx when run as root)",
)


def test_deploy_config_balances_with_least_conn_and_upgrades_websockets():
    text = DEPLOY_CONFIG.read_text()
    assert re.search(r"^\s*least_conn;", text, flags=re.M)
    assert not re.search(r"^\s*ip_hash", text, flags=re.M)  # a lecture hall shares one NAT
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert "proxy_set_header Connection $connection_upgrade;" in text
    assert re.search(r"^\s*gzip on;", text, flags=re.M)
    timeout = re.search(r"proxy_read_timeout\s+(\d+)h;", text)
    assert timeout and int(timeout.group(1)) >= 2  # longer than a lecture's idle stretches


@pytest.fixture(scope="module")
def balanced(tmp_path_factory):
    """Two replicas and nginx in front: (url, access log path, replica ports)."""
    if NGINX is None:
        pytest.skip(needs_nginx.kwargs["reason"])
    directory = tmp_path_factory.mktemp("nginx")
    listen_port = free_port()
    replica_ports = [free_port(), free_port()]
    replicas = []
    nginx = None
    try:
        for port in replica_ports:
            command = [DOWNHILL, "--port", str(port), "--address", "127.0.0.1", "--no-browser",
                       "--allow-websocket-origin", f"127.0.0.1:{listen_port}"]
            replicas.append(start_server(command, port))
        site = directory / "downhill.conf"
        site.write_text(site_config(listen_port, replica_ports))
        conf = directory / "nginx.conf"
        conf.write_text(main_config(directory, site))
        base = [NGINX, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")]
        checked = subprocess.run([*base, "-t"], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        nginx = start_server([*base, "-g", "daemon off;"], listen_port)
        url = f"http://127.0.0.1:{listen_port}/"
        yield url, directory / "access.log", replica_ports
    finally:
        if nginx is not None:
            stop_server(nginx)
        for proc in replicas:
            stop_server(proc)


ETA = 10**-0.5
FIRST_STEP_JS = "Math.abs(d.x0[1] - {x1}) < 1e-9 && Math.abs(d.y0[1] - {y1}) < 1e-9"


@needs_nginx
def test_page_through_nginx_interacts_and_the_session_survives(balanced, browser,
                                                               needs_chromium):
    url, access_log, replica_ports = balanced
    pages = []
    try:
        for _ in range(2):
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            page = context.new_page()
            errors = []
            page.on("console", lambda m, e=errors: m.type == "error" and e.append(m.text))
            page.goto(url)
            wait_for_models(page, ["derivative-figure"])
            open_tab(page, "Gradient descent", names=["landscape-trajectory"])
            pages.append((context, page, errors))

        for _context, page, _errors in pages:
            wait_for_data(page, "landscape-trajectory", FIRST_STEP_JS.format(x1=3.2, y1=1.2))
        # An interaction in the first page: the server behind nginx answers with the new path.
        first = pages[0][1]
        set_widget_value(first, "Learning rate", -0.5)
        wait_for_data(first, "landscape-trajectory",
                      FIRST_STEP_JS.format(x1=4 - 8 * ETA, y1=3 - 18 * ETA))
        # The session survives: a second interaction on the same websocket still answers,
        # the other page keeps its own state and its connection works too.
        set_widget_value(first, "Learning rate", -1.0)
        wait_for_data(first, "landscape-trajectory", FIRST_STEP_JS.format(x1=3.2, y1=1.2))
        second = pages[1][1]
        set_widget_value(second, "Learning rate", -0.5)
        wait_for_data(second, "landscape-trajectory",
                      FIRST_STEP_JS.format(x1=4 - 8 * ETA, y1=3 - 18 * ETA))
        for _context, page, errors in pages:
            assert not [e for e in errors if "websocket" in e.lower()], errors
            assert page.evaluate("Bokeh.documents.length") == 1
    finally:
        for context, _page, _errors in pages:
            context.close()

    # Both websockets went through nginx (101 Switching Protocols), one to each replica:
    # least_conn sends the second page to the replica without an open connection.
    # nginx logs a websocket when it closes: wait (bounded) for both lines.
    deadline = time.monotonic() + 15
    while True:
        upgrades = [line for line in access_log.read_text().splitlines()
                    if line.startswith("GET /ws 101")]
        if len(upgrades) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # polling a log file, not the browser
    assert len(upgrades) == 2, upgrades
    used = {line.rsplit("upstream=", 1)[1] for line in upgrades}
    assert used == {f"127.0.0.1:{port}" for port in replica_ports}
