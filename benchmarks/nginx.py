"""Debian nginx in front of loopback replicas, configured from deploy/nginx.conf, run as the
current user (no root: pid, logs and temp files in a directory of its own).

tests/deploy/test_nginx.py runs the deploy config through it in front of two `downhill`
replicas; benchmarks/hall.py puts it in front of one server process per core.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import psutil

from benchmarks.servers import terminate, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_CONFIG = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
UPSTREAM_SERVER = re.compile(r"^(\s*server\s+)127\.0\.0\.1:\d+(\s[^\n]*)?\n", flags=re.M)


def site_config(listen_port, replica_ports, location_extra=""):
    """deploy/nginx.conf with loopback ports: it listens on 127.0.0.1:`listen_port` and its
    upstream holds one server line per replica port (each as the deploy file's first server
    line, max_fails and all); nothing else changes, except `location_extra` directives
    appended to `location /` when given (the hall adds a response header naming the replica)."""
    text = DEPLOY_CONFIG.read_text()
    listens = re.findall(r"^\s*listen\s+80;", text, flags=re.M)
    servers = list(UPSTREAM_SERVER.finditer(text))
    assert len(listens) == 1 and servers and text.count("location / {") == 1, (
        "deploy/nginx.conf changed shape: update benchmarks/nginx.py's port substitution"
    )
    text = re.sub(r"^(\s*)listen\s+80;", rf"\1listen 127.0.0.1:{listen_port};", text,
                  flags=re.M)
    first = servers[0]
    lines = "".join(f"{first.group(1)}127.0.0.1:{port}{first.group(2) or ''}\n"
                    for port in replica_ports)
    text = text[:first.start()] + lines + UPSTREAM_SERVER.sub("", text[first.end():])
    if location_extra:
        text = text.replace("location / {", "location / {\n        " + location_extra, 1)
    return text


def main_config(directory, site, connections=256):
    """A whole nginx.conf around the site (Debian includes conf.d/*.conf inside `http`), with
    every path in `directory` so that nginx runs without root. Its access log names, for each
    request, the replica(s) tried (upstream=), the affinity cookie the request carried
    (route=, "-" without one) and the request's id (id=: what deploy/nginx.conf's reply
    sets as the cookie when the request carried none)."""
    return f"""
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log notice;
events {{ worker_connections {connections}; }}
http {{
    log_format upstreams '$request_method $uri $status upstream=$upstream_addr '
                         'route=$cookie_downhill_route id=$request_id';
    access_log {directory}/access.log upstreams;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {site};
}}
"""


class Nginx:
    """nginx (master and worker) listening on 127.0.0.1:`listen_port` in front of the
    replicas; checked with `nginx -t`, started in the foreground, stopped by PID."""

    def __init__(self, directory, listen_port, replica_ports, connections=256,
                 location_extra=""):
        if NGINX is None:
            raise RuntimeError("nginx is not installed (scripts/ensure-nginx installs it)")
        directory = Path(directory)
        self.directory, self.port = directory, listen_port
        self.url = f"http://127.0.0.1:{listen_port}/"
        self.access_log = directory / "access.log"
        site = directory / "downhill.conf"
        site.write_text(site_config(listen_port, replica_ports, location_extra))
        conf = directory / "nginx.conf"
        conf.write_text(main_config(directory, site, connections))
        base = [NGINX, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")]
        checked = subprocess.run([*base, "-t"], capture_output=True, text=True, timeout=30)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx -t failed: {checked.stderr}")
        self.proc = subprocess.Popen([*base, "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.process = psutil.Process(self.proc.pid)
        try:
            wait_until_up(self.proc, self.url + "liveness", "nginx")
        except BaseException:
            self.stop()
            raise

    def processes(self):
        try:
            return [self.process, *self.process.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self):
        """SIGTERM to the master (nginx's fast shutdown stops its workers); then make sure,
        worker by PID."""
        terminate(self.proc, self.processes()[1:])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
