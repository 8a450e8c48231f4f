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

import collections
import gc
import math
import os
import time

from app.upstream_patches import (  # noqa: F401  (re-exported: the benchmarks' baselines)
    cache_page_resources,
    collect_panel_writes,
    enable_batching,
    enable_nodelay,
    free_destroyed_models,
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
    free_destroyed_models()
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
    sessions, 1.2-2.8 s at 150-200 (measured, benchmarks/RESULTS.md "Hall"). Python starts one
    whenever the objects that survived since the last one reach a quarter of those it kept
    then, i.e. again and again while a hall joins; Panel starts one 5 s after sessions close.

    Here instead:
    * after students join, the objects alive then are frozen (`gc.freeze`, after a collection
      of the young generations): the collector never walks them again, so its automatic
      collections walk only what was made since (the latest joins, a tap's garbage): pauses
      of milliseconds;
    * a closed session's objects are frozen with the rest. Reference counting frees about half
      of them at once (its Bokeh models, app/upstream_patches.py "destroyed models let go");
      the rest (Panel's objects and their parameter watchers, in cycles) waits for a reclaim:
      `gc.unfreeze`, a full collection, freeze again, a pause for every student on the process
      (~2.8 s at 150 open sessions). Panel's own collection after closes is replaced by it.
    * the reclaim runs only when it hurts nobody or when memory demands it, whichever comes
      first: when the process has been idle for QUIET_S (its CPU time over that window below
      IDLE_SHARE of a core: nobody is tapping, a lecture has quiet moments), or when the
      sessions closed since the last reclaim reach BOUND_SHARE of the open ones (then at the
      next tick, busy or not).

    The trade-off is memory: while students keep tapping, closed sessions wait. With
    BOUND_SHARE = 1 they are at most as many as the open ones, and since about half of each
    is freed at once, the memory they hold is at most ~half of what the open sessions use:
    **memory per process <= open sessions x ~1.5 x the memory per session** in the worst case
    (deploy/HALL.md). In exchange a hall in its tap window is not paused by closes below that
    bound (pages whose websocket went to another replica, students leaving early); a reclaim
    waits for the next quiet moment.
    """

    TICK_S = 1.0  # how often the policy looks (on the server's loop)
    FREEZE_FOR_S = 10.0  # freeze on each tick this long after a join (the lesson follows it)
    QUIET_S = 5.0  # idle means: over this window (and at least this long after a close) ...
    IDLE_SHARE = 0.05  # ... the process used less than this share of a core
    BOUND_SHARE = 1.0  # reclaim regardless once closed sessions reach this share of open ones

    _installed = None  # the process's policy (one per process: the heap is the process's)

    def __init__(self, clock=time.monotonic, cpu=time.process_time):
        self.clock, self.cpu = clock, cpu
        self.open = 0
        self.closed = 0  # closed since the last reclaim
        self.last_join = self.last_close = -math.inf
        self.freezes = self.reclaims = 0
        self.idle_reclaims = self.bound_reclaims = 0
        self.samples = collections.deque([(clock(), cpu())])  # (clock, cpu), QUIET_S back

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

    def idle(self, now):
        """Whether the process has used less than IDLE_SHARE of a core over the last QUIET_S
        (from the ticks' samples), the last close included."""
        self.samples.append((now, self.cpu()))
        while len(self.samples) > 1 and now - self.samples[1][0] >= self.QUIET_S:
            self.samples.popleft()
        since, cpu_then = self.samples[0]
        if now - since < self.QUIET_S or now - self.last_close < self.QUIET_S:
            return False
        return self.samples[-1][1] - cpu_then < self.IDLE_SHARE * (now - since)

    def tick(self):
        """Reclaim closed sessions' memory or freeze what recent joins built (see above)."""
        now = self.clock()
        idle = self.idle(now)
        if self.closed and self.closed >= self.BOUND_SHARE * self.open:
            self.bound_reclaims += 1
            self.reclaim()
        elif self.closed and idle:
            self.idle_reclaims += 1
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
        # the reclaim's own CPU is not a student's: the next idle window starts after it
        self.samples = collections.deque([(self.clock(), self.cpu())])


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
