"""Our server start-up: Panel's server with the patches of app/upstream_patches.py applied
(TCP_NODELAY on every websocket, each callback's changes sent to the browser as one message
with small arrays inline, Panel's writes joining that message, no per-session validation,
serialization that reads only the properties it sends).

Everything that reaches into Bokeh's or Panel's private machinery lives in
app/upstream_patches.py, each patch with the upstream behaviour it works around and its
measured gain; this module only applies them.
"""

from __future__ import annotations

from app.upstream_patches import (  # noqa: F401  (re-exported: the benchmarks' baselines)
    collect_panel_writes,
    enable_batching,
    enable_nodelay,
    install_speedups,
    skip_document_validation,
)


def create_server(panels, **options):
    """`pn.serve(panels, **options)` without starting it, with TCP_NODELAY enabled and one
    message per callback.

    With `num_procs` > 1 Bokeh forks inside the server's constructor, so this returns in
    every worker process, each with its own server to patch and start.
    """
    import panel as pn  # here, so a pure-Bokeh server (the benchmark's baseline) can use
    # enable_nodelay without Panel's import replacing Bokeh's server class and resources

    skip_document_validation()
    install_speedups()
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
