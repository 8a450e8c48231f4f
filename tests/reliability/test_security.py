"""What the running server exposes: the page, its websocket, static files and /liveness;
no admin panel, no session-info REST endpoint, no unbounded text box, no '*' origin."""

import pytest

from app.cli import parse_args, server_options
from benchmarks.wsclient import BokehSession, fetch_page
from tests.reliability.conftest import run

CLOSED = ["/admin", "/admin/", "/admin/login", "/session_info", "/rest/session_info", "/rest"]
LESSON_TABS = [("Gradient descent", "landscape-figure"), ("Backpropagation", "circuit-figure"),
               ("Stochastic & adaptive", "linefit-figure")]
TEXT_BOXES = ("TextInput", "TextAreaInput", "PasswordInput", "AutocompleteInput")


@pytest.mark.parametrize("path", CLOSED)
def test_admin_and_session_info_endpoints_are_not_served(server, path):
    url, _proc = server
    status, _headers, _body = run(fetch_page(url.rstrip("/") + path))
    assert status == 404


def test_liveness_and_page_are_served(server):
    url, _proc = server
    assert run(fetch_page(url + "liveness"))[0] == 200
    assert run(fetch_page(url))[0] == 200


def test_every_text_box_of_every_lesson_has_a_length_limit(server):
    url, _proc = server

    async def scenario():
        async with await BokehSession.open(url) as session:
            for title, figure in LESSON_TABS:
                await session.open_tab(title, names=[figure], timeout=60)
            boxes = [m for kind in TEXT_BOXES for m in session.find_all(type=kind)]
            assert boxes, "no text box found: the lessons changed, update this test"
            for box in boxes:
                limit = session.get(box).get("max_length")
                assert isinstance(limit, int) and 0 < limit <= 1000, (box["type"], limit)

    run(scenario())


def test_default_origins_are_never_a_wildcard(monkeypatch):
    monkeypatch.delenv("DOWNHILL_ALLOW_WEBSOCKET_ORIGIN", raising=False)
    options = server_options(parse_args(["--no-browser"]))
    assert "*" not in options.get("websocket_origin", [])
    assert options["admin"] is False
    assert options.get("session_history", 0) == 0
