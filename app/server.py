"""Our server start-up: Panel's server with the patches of app/upstream_patches.py applied
(TCP_NODELAY on every websocket, each callback's changes sent to the browser as one message
with small arrays inline, Panel's writes joining that message, no per-session validation,
serialization that reads only the properties it sends), and, in a process that `serve` runs,
a garbage-collection policy that keeps the collector from pausing every student for a second
(`CollectionPolicy`).

Everything that reaches into Bokeh's or Panel's private machinery lives in
app/upstream_patches.py, each patch with the upstream behaviour it works around and its
measured gain; this module only applies them.
"""

from __future__ import annotations

import gc
import math
import os
import time

from app.upstream_patches import (  # noqa: F401  (re-exported: the benchmarks' baselines)
    cache_page_resources,
    collect_panel_writes,
    enable_batching,
    enable_nodelay,
    install_speedups,
    replace_panel_collection,
    skip_document_validation,
)

GC_SWITCH = "DOWNHILL_GC"  # "panel": Panel's and Python's own collection (to compare)
GC_LOG = "DOWNHILL_GC_LOG"  # a directory: each process logs its collections there


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
    cache_page_resources()
    server = pn.serve(panels, **dict(options, start=False))
    return enable_batching(enable_nodelay(server))


def serve(panels, **options):
    """Create the server (see `create_server`), start it and run its loop until stopped.

    A process that runs the server (start=True, as `downhill` and the benchmarks' baselines
    do) also gets `CollectionPolicy` (unless DOWNHILL_GC=panel) and, with DOWNHILL_GC_LOG set
    to a directory, a log of its garbage collections (`log_collections`). A server created
    without starting it (tests in a process of their own) leaves the collector alone."""
    start = options.pop("start", True)
    server = create_server(panels, **options)
    if start:
        if os.environ.get(GC_LOG):
            log_collections(os.environ[GC_LOG])
        if os.environ.get(GC_SWITCH, "policy") != "panel":
            CollectionPolicy.install(server)
        server.start()
        server.io_loop.start()
    return server


# ------------------------------------------------------------------------ garbage collection


class CollectionPolicy:
    """When this server process runs Python's cyclic garbage collector (issue 14).

    Every Panel/Bokeh session is a few ten thousand objects in reference cycles (models and
    their document, parameters and their watchers), and a full (generation-2) collection walks
    every live session's objects while every student on the process waits: 0.45 s at ~50
    sessions, 1.2-1.8 s at 150-200 (measured, benchmarks/RESULTS.md "Hall"). Python starts one
    whenever the objects that survived since the last one reach a quarter of those it kept
    then, i.e. again and again while a hall joins; Panel starts one 5 s after sessions close.

    Here instead:
    * after students join, the objects alive then are frozen (`gc.freeze`, after a collection
      of the young generations): the collector never walks them again, so its automatic
      collections walk only what was made since (the latest joins, a tap's garbage): pauses
      of milliseconds;
    * Panel's collection after closed sessions is replaced: closed sessions' objects are
      frozen with the rest, so they are reclaimed (`gc.unfreeze`, a full collection, freeze
      again) once the sessions closed since the last reclaim are at least a quarter of those
      still open, QUIET_S after the last one closed. A full collection is then paid once per
      quarter of the hall leaving (as Python's own rule pays one per quarter of growth), and
      memory held by closed sessions is at most a quarter of the open ones' (plus a few
      garbage objects frozen with each join, freed at the next reclaim).
    """

    TICK_S = 1.0  # how often the policy looks (on the server's loop)
    FREEZE_FOR_S = 10.0  # freeze on each tick this long after a join (the lesson follows it)
    QUIET_S = 5.0  # reclaim only this long after the last session closed (Panel: 5 s)
    RECLAIM_SHARE = 0.25  # reclaim when closed sessions reach this share of the open ones

    _installed = None  # the process's policy (one per process: the heap is the process's)

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.open = 0
        self.closed = 0  # closed since the last reclaim
        self.last_join = self.last_close = -math.inf
        self.freezes = self.reclaims = 0

    @classmethod
    def install(cls, server):
        """Run the policy in this process, ticking on `server`'s loop (idempotent)."""
        import panel as pn
        from tornado.ioloop import PeriodicCallback

        if cls._installed is not None:
            return cls._installed
        policy = cls._installed = cls()
        pn.state.on_session_created(policy.joined)
        pn.state.on_session_destroyed(policy.left)
        replace_panel_collection(lambda: None)  # reclaiming is the policy's (see `tick`)
        server.io_loop.add_callback(
            lambda: PeriodicCallback(policy.tick, policy.TICK_S * 1000).start())
        return policy

    # Panel and Bokeh check a session callback's signature: exactly (session_context).
    def joined(self, session_context):
        self.open += 1
        self.last_join = self.clock()

    def left(self, session_context):
        self.open = max(self.open - 1, 0)
        self.closed += 1
        self.last_close = self.clock()

    def tick(self):
        """Reclaim closed sessions' memory or freeze what recent joins built (see above)."""
        now = self.clock()
        if (self.closed and now - self.last_close >= self.QUIET_S
                and self.closed >= self.RECLAIM_SHARE * self.open):
            self.reclaim()
        elif now - self.last_join <= self.FREEZE_FOR_S:
            gc.collect(1)  # the young generations' garbage is not frozen with the rest
            gc.freeze()
            self.freezes += 1

    def reclaim(self):
        """Free what closed sessions left (a full collection over every object)."""
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.closed = 0
        self.reclaims += 1


def log_collections(directory):
    """Append a line per garbage collection of this process to DIRECTORY/gc-PID.log: the
    wall-clock time it started, its generation, its duration in seconds and the objects it
    freed; generation-0 and -1 collections only when they took 5 ms or more."""
    path = os.path.join(directory, f"gc-{os.getpid()}.log")
    log = open(path, "a", buffering=1)  # noqa: SIM115  (open for the process's life)
    started = {}

    def timed(phase, info):
        if phase == "start":
            started["wall"], started["cpu"] = time.time(), time.perf_counter()
            return
        took = time.perf_counter() - started.get("cpu", time.perf_counter())
        if info["generation"] == 2 or took >= 0.005:
            log.write(f"{started['wall']:.3f} {info['generation']} {took:.4f} "
                      f"{info['collected']}\n")

    gc.callbacks.append(timed)
    return path
