"""Our server start-up: TCP_NODELAY on a live websocket of the server `downhill` creates, and
each callback's changes sent as one message."""

import asyncio
import math
import socket
import threading

import pytest
from tornado.ioloop import IOLoop

from app import server as downhill_server
from app import upstream_patches as upstream
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
            await session.ready(["derivative-point"])  # lesson 1 is built on document_ready
            slider = session.find(title="w")
            before = session.patches_received
            await session.set_value(slider, 1.5)
            await session.wait_for_patch(before)
            return server_websocket_nodelay(server)

    options = asyncio.run(scenario())
    assert len(options) == 1
    assert options[0] != 0


async def quiet(session, seconds=1.0):
    """Wait until no patch has arrived for `seconds`."""
    while True:
        before = session.patches_received
        await asyncio.sleep(seconds)
        if session.patches_received == before:
            return


def test_a_tap_on_the_landscape_arrives_as_one_message(live_server, monkeypatch):
    """A tap changes the start, every path, the arrow, the status, the loss axis and the URL:
    Bokeh alone sends each change as a message of its own (nine for this tap), our sessions
    send them as one PATCH-DOC, and all of it arrives."""
    server, url = live_server
    assert upstream.batches_patches()

    async def scenario():
        async with await BokehSession.open(url) as session:
            await session.open_tab("Gradient descent", names=["landscape-trajectory"])
            figure = session.find(name="landscape-figure")
            path = session.find(name="landscape-path")
            await session.send_event("document_ready")  # as a browser does
            await quiet(session)  # whatever opening the tab still sends
            before = session.patches_received
            await session.send_event("tap", figure, sx=10.0, sy=10.0, x=1.0, y=-1.0)
            await session.wait_for(
                lambda: list(session.get(path)["data"]["x"][:1]) == [1.0], timeout=30)
            await asyncio.sleep(0.5)  # a second message would come now
            status = session.get(session.find(name="landscape-status"))["text"]
            trajectory = session.get(session.find(name="landscape-trajectory"))["data"]
            return session.patches_received - before, status, trajectory

    frames = []  # per message sent: header, metadata, content, two per binary buffer

    def counted(protocol, events):
        message = make_message(protocol, events)
        frames.append(3 + 2 * len(message.buffers))
        return message

    make_message = upstream.patch_message
    monkeypatch.setattr(upstream, "patch_message", counted)
    messages, status, trajectory = asyncio.run(scenario())
    assert messages == 1
    assert frames[-1] == 3  # every array of a tap is small: no binary frames
    assert "(1, -1)" in status
    assert list(trajectory["x0"][:1]) == [1.0] and list(trajectory["y0"][:1]) == [-1.0]
    assert all(type(s) is upstream.BatchedServerSession
               for context in server._tornado._applications.values()
               for s in context.sessions)


def test_a_learning_rate_change_arrives_as_one_message(live_server):
    """η's slider goes through Panel's widget pipeline, which writes the changes it makes to
    Panel objects (the status pane, the typed-η box) straight to the socket: three or four
    messages without `collect_panel_writes`, one with it, and all of it arrives."""
    server, url = live_server
    assert upstream.collect_panel_writes()

    async def scenario():
        async with await BokehSession.open(url) as session:
            await session.open_tab("Gradient descent", names=["landscape-trajectory"])
            await session.send_event("document_ready")  # as a browser does
            await quiet(session)
            slider = session.find(title="Learning rate")
            typed = session.find(title="Type η")
            counts = []
            for value in (-1.3, -1.0, -1.3):  # η = 0.05, 0.1, 0.05
                before = session.patches_received
                await session.set_value(slider, value)
                await session.wait_for(lambda v=value: math.isclose(
                    session.get(typed)["value"], 10 ** v), timeout=30)
                await asyncio.sleep(0.5)  # a second message would come now
                counts.append(session.patches_received - before)
            status = session.get(session.find(name="landscape-status"))["text"]
            return counts, status

    counts, status = asyncio.run(scenario())
    assert counts == [1, 1, 1]
    assert "0.05" in status


def test_consecutive_changes_for_the_same_connections_share_a_message():
    """serialize_batches: one message per run of changes bound for the same connections,
    in order; every event in it."""
    from bokeh.document import Document
    from bokeh.models import ColumnDataSource, Div
    from bokeh.protocol import Protocol

    doc = Document()
    div, source = Div(text="a"), ColumnDataSource({"x": [1]})
    doc.add_root(div)
    doc.add_root(source)
    events = []
    doc.on_change(lambda event: events.append(event))
    div.text = "b"
    source.data = {"x": [2, 3]}
    div.text = "c"

    class Pending:
        def __init__(self, event, connections):
            self.event, self.protocol, self.connections = event, Protocol(), connections

    protocol_of = Pending(events[0], ()).protocol
    pending = [Pending(events[0], ("one",)), Pending(events[1], ("one",)),
               Pending(events[2], ("two",))]
    for p in pending:
        p.protocol = protocol_of
    messages = upstream.serialize_batches(pending)
    assert [connections for _message, connections in messages] == [("one",), ("two",)]
    first, second = (message.content["events"] for message, _ in messages)
    assert [e["kind"] for e in first] == ["ModelChanged", "ColumnDataChanged"]
    assert first[0]["new"] == "b" and second[0]["new"] == "c"


def test_small_arrays_travel_inside_the_message_and_big_ones_as_buffers():
    """A buffer costs two websocket frames: arrays up to INLINE_BYTES go in the JSON as
    base64, bigger ones stay binary; the browser's decoding gives the same numbers."""
    import base64
    import gzip

    import numpy as np
    from bokeh.document import Document
    from bokeh.models import ColumnDataSource
    from bokeh.protocol import Protocol

    doc = Document()
    small, big = ColumnDataSource({"x": []}), ColumnDataSource({"x": []})
    doc.add_root(small)
    doc.add_root(big)
    events = []
    doc.on_change(lambda event: events.append(event))
    path = np.linspace(0.0, 1.0, 101)
    image = np.arange(2 * upstream.INLINE_BYTES // 8, dtype=np.float64)
    small.data = {"x": path}
    big.data = {"x": image}
    message = upstream.patch_message(Protocol(), events)
    message.prepare()
    inline, buffered = (event["data"]["entries"][0][1]["array"]
                        for event in message.content["events"])
    # Bokeh's inline bytes are base64 of gzip (BokehJS gunzips them)
    assert np.array_equal(np.frombuffer(gzip.decompress(base64.b64decode(inline["data"]))),
                          path)
    assert not isinstance(buffered["data"], str)  # a reference to a binary buffer
    assert len(message.buffers) == 1 and message.header["num_buffers"] == 1
    assert np.array_equal(np.frombuffer(bytes(message.buffers[0].data)), image)


def test_a_patch_sends_models_the_browser_has_as_references_and_new_ones_whole():
    """SmallArraysInline looks references up when it meets a model instead of building one
    for every model of the document: the message is the one Bokeh's serializer writes, a
    synced model as a bare reference, a new model with its properties, and the new model
    counts as synced once sent."""
    from bokeh.core.serialization import Serializer
    from bokeh.document import Document
    from bokeh.models import Column, Div
    from bokeh.protocol import Protocol

    doc = Document()
    old, column = Div(text="old"), Column()
    column.children = [old]
    doc.add_root(column)
    doc.models.flush_synced()
    events = []
    doc.on_change(lambda event: events.append(event))
    new = Div(text="new")
    column.children = [old, new]
    assert new in doc.models._new_models

    bokeh_json = Serializer(references=doc.models.synced_references).encode(events)
    message = upstream.patch_message(Protocol(), events)
    sent = message.content["events"]
    assert sent == bokeh_json
    children = sent[0]["new"]
    assert children[0] == {"id": old.id}  # the browser has it: a reference only
    assert children[1]["id"] == new.id and children[1]["attributes"]["text"] == "new"
    assert new not in doc.models._new_models  # sent: a later message refers to it


def test_every_lesson_document_passes_bokehs_validation(caplog):
    """The server skips Bokeh's per-session validation (app/upstream_patches.py); the checks
    it would log run here instead, on a page with all four lessons built."""
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
        upstream.skip_document_validation()
        assert settings.perform_document_validation() is False
        monkeypatch.setenv("BOKEH_VALIDATE_DOC", "true")
        settings.perform_document_validation.unset_value()
        upstream.skip_document_validation()
        assert settings.perform_document_validation() is True
    finally:
        settings.perform_document_validation.unset_value()
