"""Our server start-up: Panel's server, with TCP_NODELAY on every connection it accepts.

Neither Bokeh nor Panel sets TCP_NODELAY on the server's sockets. A websocket reply is a few
small frames (header, metadata, content, buffers); with Nagle's algorithm on, the kernel holds
a small frame back until the client acknowledges the previous one, and the client delays its
acknowledgement (Linux: up to 40 ms). Replies then jump between ~4 and ~45 ms. Setting
TCP_NODELAY on each websocket sends every frame at once. We set it on the server we
create (here), not by editing the installed packages.
"""

from __future__ import annotations

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
    """`pn.serve(panels, **options)` without starting it, with TCP_NODELAY enabled.

    With `num_procs` > 1 Bokeh forks inside the server's constructor, so this returns in
    every worker process, each with its own server to patch and start.
    """
    import panel as pn  # here, so a pure-Bokeh server (the benchmark's baseline) can use
    # enable_nodelay without Panel's import replacing Bokeh's server class and resources

    skip_document_validation()
    server = pn.serve(panels, **dict(options, start=False))
    return enable_nodelay(server)


def serve(panels, **options):
    """Create the server (see `create_server`), start it and run its loop until stopped."""
    start = options.pop("start", True)
    server = create_server(panels, **options)
    if start:
        server.start()
        server.io_loop.start()
    return server
