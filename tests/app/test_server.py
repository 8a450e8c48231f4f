"""Our server start-up: TCP_NODELAY on a live websocket of the server `downhill` creates."""

import asyncio
import socket
import threading

import pytest
from tornado.ioloop import IOLoop

from app import server as downhill_server
from app.cli import MAIN
from benchmarks.wsclient import BokehSession
from tests.ui.conftest import free_port


@pytest.fixture
def live_server():
    """The app served in this process (on its own loop in a thread), so the test can read
    the options of the server's own sockets."""
    port = free_port()
    loop = IOLoop(make_current=False)
    created = {}
    ready = threading.Event()

    def run():
        asyncio.set_event_loop(loop.asyncio_loop)
        created["server"] = downhill_server.serve(
            {"/": str(MAIN)}, port=port, address="127.0.0.1", show=False, loop=loop,
            websocket_origin=[f"127.0.0.1:{port}"], verbose=False, start=False,
        )
        created["server"].start()
        loop.add_callback(ready.set)
        loop.start()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(60)
    yield created["server"], f"http://127.0.0.1:{port}/"
    loop.add_callback(created["server"].stop)
    loop.add_callback(loop.stop)
    thread.join(30)


def server_websocket_nodelay(server):
    """TCP_NODELAY of each open websocket on the server side (from Bokeh's connections)."""
    options = []
    for connection in list(server._tornado._clients):
        stream = connection._socket.ws_connection.stream
        options.append(stream.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    return options


def test_tcp_nodelay_is_set_on_a_live_websocket(live_server):
    server, url = live_server

    async def scenario():
        async with await BokehSession.open(url) as session:
            slider = session.find(title="w")
            before = session.patches_received
            await session.set_value(slider, 1.5)
            await session.wait_for_patch(before)
            return server_websocket_nodelay(server)

    options = asyncio.run(scenario())
    assert len(options) == 1
    assert options[0] != 0


def test_every_lesson_document_passes_bokehs_validation(caplog):
    """The server skips Bokeh's per-session validation (app/server.py); the checks it would
    log run here instead, on a page with all four lessons built."""
    import logging

    import panel as pn
    from bokeh.document import Document

    from app.main import build_page

    page = build_page()
    for index in range(len(page.lessons.titles)):
        page.lessons.lesson(index)
    doc = Document()
    with pn.io.hold(doc):
        page.server_doc(doc)
    with caplog.at_level(logging.WARNING, logger="bokeh"):
        doc.validate()
    problems = [r.getMessage() for r in caplog.records if r.name.startswith("bokeh")]
    assert problems == []
    assert len(list(doc.models)) > 500  # all four lessons are in it


def test_the_server_skips_per_session_validation_unless_asked(monkeypatch):
    from bokeh.settings import settings

    monkeypatch.delenv("BOKEH_VALIDATE_DOC", raising=False)
    try:
        downhill_server.skip_document_validation()
        assert settings.perform_document_validation() is False
        monkeypatch.setenv("BOKEH_VALIDATE_DOC", "true")
        settings.perform_document_validation.unset_value()
        downhill_server.skip_document_validation()
        assert settings.perform_document_validation() is True
    finally:
        settings.perform_document_validation.unset_value()
