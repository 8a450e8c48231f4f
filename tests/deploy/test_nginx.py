"""Scale-out: Debian nginx, configured from deploy/nginx.conf, in front of two `downhill`
replicas on loopback ports: a page and its websocket reach the same replica (the affinity
cookie), the hall spreads over both, a replica down sends its students to the other, a browser
without cookies still works, and Chromium loads the page through it and the session works."""

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.hall import UPSTREAM_HEADER
from benchmarks.nginx import DEPLOY_CONFIG, NGINX, Nginx, main_config, site_config
from benchmarks.wsclient import BokehSession, fetch_page
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


COOKIE = "downhill_route"
# A Set-Cookie as deploy/nginx.conf sends it: the request's id (32 hex digits) as the value.
SET_COOKIE = re.compile(rf"^{COOKIE}=([0-9a-f]{{32}}); Path=/; HttpOnly; SameSite=Lax$")
# benchmarks/nginx.py's access log line: method, uri, status, replicas tried, cookie sent
# ("-" for none), request id.
LOG_LINE = re.compile(r"^(\S+) (\S+) (\d+) upstream=(.*) route=(\S*) id=(\S+)$")


def test_deploy_config_routes_by_an_affinity_cookie_and_upgrades_websockets():
    text = DEPLOY_CONFIG.read_text()
    directives = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    upstream = re.search(r"upstream downhill_replicas \{(.*?)\}", directives, flags=re.S)
    # Every request is routed by the hash of the cookie (or, without one, the request id the
    # reply then sets as the cookie): a page and its websocket reach the same replica.
    assert upstream and re.search(r"^\s*hash \$downhill_route;", upstream.group(1), flags=re.M)
    assert not re.search(r"^\s*(least_conn|ip_hash|random)\b", directives, flags=re.M)
    assert "ip_hash" not in directives  # a lecture hall shares one NAT address
    route = re.search(r"map \$cookie_downhill_route \$downhill_route \{(.*?)\}", directives,
                      flags=re.S)
    assert route and re.search(r'""\s+\$request_id;', route.group(1))
    assert re.search(r"default\s+\$cookie_downhill_route;", route.group(1))
    cookie = re.search(r"map \$cookie_downhill_route \$downhill_route_cookie \{(.*?)\}",
                       directives, flags=re.S)
    assert cookie and (f'"{COOKIE}=$request_id; Path=/; HttpOnly; SameSite=Lax"'
                       in cookie.group(1))
    # The header is added in `location /`, where benchmarks/nginx.py's extras go too: an
    # add_header there would otherwise drop one inherited from `server`.
    location = directives[directives.index("location / {"):]
    assert "add_header Set-Cookie $downhill_route_cookie always;" in location
    assert directives.count("add_header") == 1
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert "proxy_set_header Connection $connection_upgrade;" in text
    assert re.search(r"^\s*gzip on;", text, flags=re.M)
    timeout = re.search(r"proxy_read_timeout\s+(\d+)h;", text)
    assert timeout and int(timeout.group(1)) >= 2  # longer than a lecture's idle stretches
    for server in re.findall(r"^\s*server\s+127[^;]*;", upstream.group(1), flags=re.M):
        assert "max_fails=3" in server and "fail_timeout=10s" in server


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
        # X-Upstream on every reply names the replica (as the hall benchmark adds it)
        site.write_text(site_config(listen_port, replica_ports, UPSTREAM_HEADER))
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


def replica(port):
    return f"127.0.0.1:{port}"


async def join(url, cookies=True):
    """A student: the page, then its websocket (with the cookies the page's reply set, as a
    browser sends them), the document pulled; returns the session, closed."""
    async with await BokehSession.open(url, timeout=120, cookies=cookies) as session:
        assert session.models, "the document came through"
    return session


@needs_nginx
def test_a_page_and_its_websocket_reach_the_same_replica_and_both_replicas_get_students(
        balanced):
    url, _access_log, replica_ports = balanced
    replicas = {replica(port) for port in replica_ports}

    async def hall():
        students = []
        # Each student is a browser on its first visit; until both replicas have some (each
        # student lands on either by chance: 40 all on one would be a 1 in 10^12 fluke).
        while len(students) < 40 and (len(students) < 8 or len(
                {s.page_headers["x-upstream"] for s in students}) < 2):
            students.append(await join(url))
        return students

    students = asyncio.run(hall())
    values = []
    for student in students:
        page, upgrade = student.page_headers, student.upgrade_headers
        assert page["x-upstream"] in replicas
        assert upgrade["x-upstream"] == page["x-upstream"]  # the websocket followed the page
        # The page's reply set the cookie; the upgrade carried it, so it was not set again.
        match = SET_COOKIE.match(page.get("set-cookie", ""))
        assert match, page
        assert student.cookies == {COOKIE: match.group(1)}
        assert "set-cookie" not in upgrade
        values.append(match.group(1))
    assert len(set(values)) == len(values)  # a key of its own for every browser
    assert {s.page_headers["x-upstream"] for s in students} == replicas

    # The browser's other requests (tabs, reloads) carry the cookie: the same replica.
    first = students[0]
    jar = dict(first.cookies)
    for _ in range(6):
        status, headers, _ = asyncio.run(fetch_page(url + "liveness", cookies=jar))
        assert status == 200 and headers["x-upstream"] == first.page_headers["x-upstream"]
        assert "set-cookie" not in headers
    assert jar == first.cookies


@needs_nginx
def test_a_browser_that_blocks_cookies_still_gets_its_session(balanced):
    """No cookie sent back: every request gets a key of its own, so a page and its websocket
    may reach different replicas (as without affinity); the session works either way."""
    url, _access_log, replica_ports = balanced
    students = [asyncio.run(join(url, cookies=False)) for _ in range(4)]
    offered = set()
    for student in students:
        assert student.cookies == {}
        assert student.upgrade_headers["x-upstream"] in {replica(p) for p in replica_ports}
        offered.add(SET_COOKIE.match(student.page_headers["set-cookie"]).group(1))
    assert len(offered) == len(students)  # offered again each time, never sent back


@needs_nginx
def test_a_replica_down_sends_its_students_to_the_other(balanced, tmp_path):
    """nginx in front of one live replica and a port where nothing listens: a request whose
    key hashes to the dead one is passed to the live one at once, and after max_fails (3)
    failures nginx stops trying the dead one; pages and websockets all work."""
    _url, _access_log, replica_ports = balanced
    live, dead_port = replica(replica_ports[0]), free_port()
    dead = replica(dead_port)
    with Nginx(tmp_path, free_port(), [replica_ports[0], dead_port],
               location_extra=UPSTREAM_HEADER) as front:
        tried = []
        for _ in range(40):  # fresh browsers: about half of their keys hash to the dead one
            status, headers, _ = asyncio.run(fetch_page(front.url + "liveness", cookies={}))
            assert status == 200
            tried.append(headers["x-upstream"])
        assert {t.rsplit(", ", 1)[-1] for t in tried} == {live}
        assert f"{dead}, {live}" in tried  # tried the dead one, passed on to the live one
        # max_fails=3 (in fail_timeout=10s): three requests, nginx's first /liveness check
        # included, tried the dead replica, none after (within the 10 s).
        lines = front.access_log.read_text().splitlines()
        assert sum(f"upstream={dead}, " in line for line in lines) == 3, lines
        students = [asyncio.run(join(front.url)) for _ in range(3)]
        for student in students:
            assert student.page_headers["x-upstream"] == live
            assert student.upgrade_headers["x-upstream"] == live


ETA = 10**-0.5
FIRST_STEP_JS = "Math.abs(d.x0[1] - {x1}) < 1e-9 && Math.abs(d.y0[1] - {y1}) < 1e-9"


@needs_nginx
def test_page_through_nginx_interacts_and_the_session_survives(balanced, browser,
                                                               needs_chromium):
    url, access_log, replica_ports = balanced
    pages = []
    routes = []
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
        for context, page, errors in pages:
            assert not [e for e in errors if "websocket" in e.lower()], errors
            assert page.evaluate("Bokeh.documents.length") == 1
            # Chromium kept the affinity cookie, out of the page's scripts' reach.
            cookies = [c for c in context.cookies() if c["name"] == COOKIE]
            assert len(cookies) == 1 and cookies[0]["httpOnly"], cookies
            assert cookies[0]["sameSite"] == "Lax" and cookies[0]["path"] == "/"
            routes.append(cookies[0]["value"])
    finally:
        for context, _page, _errors in pages:
            context.close()

    # Each page's GET (no cookie yet: its id became the cookie) and its websocket (101
    # Switching Protocols, carrying the cookie) reached the same replica. nginx logs a
    # websocket when it closes: wait (bounded) for both lines.
    assert len(set(routes)) == 2
    deadline = time.monotonic() + 15
    while True:
        lines = [LOG_LINE.match(line) for line in access_log.read_text().splitlines()]
        upgrades = {m.group(5): m.group(4) for m in lines
                    if m and m.group(1, 2, 3) == ("GET", "/ws", "101")}
        if set(routes) <= set(upgrades) or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # polling a log file, not the browser
    pages_at = {m.group(6): m.group(4) for m in lines
                if m and m.group(1, 2, 3) == ("GET", "/", "200") and m.group(5) == "-"}
    used = {replica(port) for port in replica_ports}
    for route in routes:
        assert upgrades.get(route) in used, (route, upgrades)
        assert pages_at.get(route) == upgrades[route], (route, pages_at, upgrades)
