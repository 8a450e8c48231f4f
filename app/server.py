"""Our server start-up: Panel's server, with TCP_NODELAY on every connection it accepts and
each callback's changes sent to the browser as one message.

Neither Bokeh nor Panel sets TCP_NODELAY on the server's sockets. A websocket reply is a few
small frames (header, metadata, content, buffers); with Nagle's algorithm on, the kernel holds
a small frame back until the client acknowledges the previous one, and the client delays its
acknowledgement (Linux: up to 40 ms). Replies then jump between ~4 and ~45 ms. Setting
TCP_NODELAY on each websocket sends every frame at once. We set it on the server we
create (here), not by editing the installed packages.

Bokeh sends every change a callback makes as a PATCH-DOC message of its own (a tap on lesson 2's
landscape: nine messages, 51 websocket frames), each serialized in a worker thread, and the
browser applies and may paint each one separately. A PATCH-DOC message carries a list of
events, so our sessions send one message per callback instead (`BatchedServerSession`), with
small arrays inside the message rather than as binary frames of their own (a tap: 3 frames).
"""

from __future__ import annotations

import base64
import gzip
import itertools

from bokeh.core.serialization import BytesRep, Serializer
from bokeh.model import Model
from bokeh.protocol.messages.patch_doc import PatchJson
from bokeh.server.contexts import ApplicationContext
from bokeh.server.session import ServerSession
from tornado.websocket import WebSocketHandler


def nodelay_handler(handler_class):
    """A subclass of the websocket handler `handler_class` that turns Nagle's algorithm off
    when the websocket opens.

    Setting it when the connection is accepted is not enough: tornado turns Nagle back on at
    the end of every HTTP response on a kept-alive stream, the upgrade's 101 included.
    """
    if getattr(handler_class, "downhill_nodelay", False):
        return handler_class

    class NoDelayWebSocketHandler(handler_class):
        downhill_nodelay = True

        def open(self, *args, **kwargs):
            self.set_nodelay(True)
            return super().open(*args, **kwargs)

    NoDelayWebSocketHandler.__name__ = f"NoDelay{handler_class.__name__}"
    return NoDelayWebSocketHandler


def enable_nodelay(server):
    """Set TCP_NODELAY on every websocket `server` (a Bokeh/Panel Server) opens from now on,
    by replacing the websocket handler class in the server's routing rules."""
    replaced = 0
    for rule in server._tornado.wildcard_router.rules:
        if isinstance(rule.target, type) and issubclass(rule.target, WebSocketHandler):
            rule.target = nodelay_handler(rule.target)
            replaced += 1
    if not replaced:
        raise RuntimeError("the server has no websocket route to set TCP_NODELAY on")
    return server


def serialize_batches(pending):
    """One PATCH-DOC message for each run of consecutive changes bound for the same
    connections: [(message, connections)], in order. `pending` is what a Bokeh session
    collected while a callback held its document lock (objects with event, protocol and
    connections)."""
    from bokeh.io.doc import patch_curdoc

    messages = []
    for (protocol, connections), run in itertools.groupby(
        pending, key=lambda patch: (patch.protocol, patch.connections)
    ):
        events = [patch.event for patch in run]
        with patch_curdoc(events[0].document):
            message = patch_message(protocol, events)
            message.prepare()
        messages.append((message, connections))
    return messages


INLINE_BYTES = 16 * 1024  # arrays up to this size travel inside the message's JSON


class SmallArraysInline(Serializer):
    """Bokeh's serializer for one document's changes, with two differences.

    An array of at most INLINE_BYTES goes inside the JSON (base64) instead of as a binary
    buffer of its own. Each buffer costs two websocket frames, and the browser handles every
    frame as a task of its own, so it may paint between them: a tap's twelve small arrays were
    24 of its 30 frames. Big arrays (a landscape's image) stay binary: base64 is a third larger.

    A model the browser already has is sent as a reference, as in Bokeh, but looked up when met
    rather than by building a reference for every model of the document first (Bokeh's
    `references=doc.models.synced_references`: ~440 models on a lesson-2 page). Together:
    a lesson-2 η message serializes in 0.7-1.0 ms instead of 2.1 ms.
    """

    def __init__(self, models):
        super().__init__()
        self._models = models  # the document's DocumentModelManager

    def _synced(self, obj):
        return (isinstance(obj, Model) and self._models.get_by_id(obj.id) is obj
                and obj not in self._models._new_models)

    def has_ref(self, obj):
        return id(obj) in self._references or self._synced(obj)

    def get_ref(self, obj):
        ref = self._references.get(id(obj))
        if ref is None and self._synced(obj):
            return obj.ref
        return ref

    def _encode_bytes(self, obj):
        if memoryview(obj).nbytes <= INLINE_BYTES:
            data = obj.tobytes() if isinstance(obj, memoryview) else bytes(obj)
            # BokehJS gunzips inline bytes. Gzipped here rather than through Bokeh's Buffer,
            # which makes an id and reads its compression setting for every array; level 1
            # because float arrays barely compress at any level (808 -> 831 bytes at 1 or 9).
            packed = gzip.compress(data, mtime=1, compresslevel=1)
            return BytesRep(type="bytes", data=base64.b64encode(packed).decode("ascii"))
        return super()._encode_bytes(obj)


def patch_message(protocol, events):
    """A PATCH-DOC message of `events` (one document's): as Bokeh's PatchDoc.create, with
    small arrays inline (SmallArraysInline)."""
    doc = events[0].document
    serializer = SmallArraysInline(doc.models)
    content = PatchJson(events=serializer.encode(events))
    doc.models.flush_synced(lambda model: not serializer.has_ref(model))
    message_class = protocol._messages["PATCH-DOC"]
    message = message_class(message_class.create_header(), {}, content)
    message.add_buffers(*serializer.buffers)
    return message


class BatchedServerSession(ServerSession):
    """A Bokeh session that sends everything one callback changed as one PATCH-DOC message
    (Bokeh: one message per change). The browser applies the message's events together,
    so a tap repaints the page once, not once per changed model."""

    async def _send_pending_patches(self, pending):
        for message, connections in serialize_batches(pending):
            for connection in connections:
                await connection.send_message(message)


class BatchingApplicationContext(ApplicationContext):
    """Bokeh's application context, making `BatchedServerSession`s."""

    async def _create_session(self, *args, **kwargs):
        session = await super()._create_session(*args, **kwargs)
        if type(session) is ServerSession:  # same object, our subclass's method
            session.__class__ = BatchedServerSession
        return session


def batches_patches():
    """Whether the installed Bokeh has the hooks BatchedServerSession and SmallArraysInline
    override (Bokeh's private API: tests/app/test_server.py checks them on every run)."""
    from bokeh.document import Document

    return hasattr(Document().models, "_new_models") and all(
        callable(getattr(cls, name, None)) for cls, name in (
            (ServerSession, "_send_pending_patches"), (ApplicationContext, "_create_session"),
            (Serializer, "_encode_bytes"), (Serializer, "get_ref"), (Serializer, "has_ref")))


def enable_batching(server):
    """Make every session `server` creates from now on a `BatchedServerSession`."""
    if not batches_patches():  # another Bokeh: its own one-message-per-change sending
        return server
    for context in server._tornado._applications.values():
        if type(context) is ApplicationContext:
            context.__class__ = BatchingApplicationContext
    return server


def collect_panel_writes():
    """Let Panel's changes join the callback's one message.

    Panel writes the changes a widget callback makes to Panel objects (an HTML pane's text, a
    widget's value) straight to the websocket, a message per `unlocked()` block, whenever it
    runs on the server's loop and the socket is free; an η change on lesson 2 went out as four
    messages, each serialized against every model of the document. When the socket is busy,
    Panel instead leaves its events to Bokeh, which sends them with the callback's own
    changes. We tell Panel the socket is busy whenever Bokeh is collecting a callback's
    changes (the session's pending writes exist), so everything goes out as the one message
    `BatchedServerSession` sends. Returns whether Panel has the hook (a private function)."""
    from panel.io import document as panel_document

    is_write_locked = getattr(panel_document, "_is_write_locked", None)
    if is_write_locked is None:
        return False
    if getattr(is_write_locked, "collects", False):
        return True

    def write_locked(connection):
        session = getattr(connection, "session", None)
        return (getattr(session, "_pending_writes", None) is not None
                or is_write_locked(connection))

    write_locked.collects = True
    panel_document._is_write_locked = write_locked
    return True


def skip_document_validation():
    """Bokeh validates every new session's document (a walk over every model and its checks:
    ~35 ms of CPU per new page here) only to log developer warnings. The server skips it
    unless BOKEH_VALIDATE_DOC is set; tests/app/test_server.py validates every lesson's
    document instead, once, where a warning fails the build."""
    import os

    from bokeh.settings import settings

    if "BOKEH_VALIDATE_DOC" not in os.environ:
        settings.perform_document_validation.set_value(False)


def create_server(panels, **options):
    """`pn.serve(panels, **options)` without starting it, with TCP_NODELAY enabled and one
    message per callback.

    With `num_procs` > 1 Bokeh forks inside the server's constructor, so this returns in
    every worker process, each with its own server to patch and start.
    """
    import panel as pn  # here, so a pure-Bokeh server (the benchmark's baseline) can use
    # enable_nodelay without Panel's import replacing Bokeh's server class and resources

    skip_document_validation()
    collect_panel_writes()
    server = pn.serve(panels, **dict(options, start=False))
    return enable_batching(enable_nodelay(server))


def serve(panels, **options):
    """Create the server (see `create_server`), start it and run its loop until stopped."""
    start = options.pop("start", True)
    server = create_server(panels, **options)
    if start:
        server.start()
        server.io_loop.start()
    return server
