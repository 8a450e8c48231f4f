"""Serve a benchmark baseline with the same server start-up as `downhill` (app/server.py:
TCP_NODELAY on websockets, one message per callback, compressed responses, and the cheaper
serialization of app/upstream_patches.py), so the baselines
differ from the app only in the page:
`python benchmarks/serve_baseline.py {panel,bokeh,panel-stock} PORT [NUM_PROCS [ORIGINS]]`
(ORIGINS: more comma-separated HOST:PORT websocket origins, e.g. a front end's).

`panel-stock` is the no-op Panel page as Panel ships it: `pn.serve` with none of app/server.py's
or app/upstream_patches.py's changes (no speedups, no resources cache, Panel's own garbage
collection), the "no-op Panel app" a reader of issue 14 would start themselves."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BASELINES = ROOT / "benchmarks" / "baselines"


def main(kind, port, num_procs=1, more_origins=""):
    port, num_procs = int(port), int(num_procs)
    origins = [f"127.0.0.1:{port}", f"localhost:{port}"]
    origins += [origin for origin in more_origins.split(",") if origin]
    if kind == "panel-stock":
        import panel as pn

        pn.serve({"/": str(BASELINES / "panel_noop.py")}, port=port, address="127.0.0.1",
                 show=False, liveness=True, admin=False, compress_response=True,
                 num_procs=num_procs, websocket_origin=origins, title="Panel baseline")
        return
    from app.upstream_patches import install_speedups

    install_speedups()  # as `downhill` does (app/server.py create_server)
    if kind == "panel":
        from app.server import serve

        serve({"/": str(BASELINES / "panel_noop.py")}, port=port, address="127.0.0.1",
              show=False, liveness=True, admin=False, compress_response=True,
              num_procs=num_procs, websocket_origin=origins, title="Panel baseline")
    elif kind == "bokeh":
        from bokeh.application import Application
        from bokeh.application.handlers import ScriptHandler
        from bokeh.server.server import Server
        from tornado.web import RequestHandler

        from app.server import enable_batching, enable_nodelay

        class Liveness(RequestHandler):  # as Panel's /liveness: the benchmark probes it
            def get(self):
                self.write("ok")

        application = Application(ScriptHandler(filename=str(BASELINES / "bokeh_noop.py")))
        server = Server({"/": application}, port=port, address="127.0.0.1",
                        allow_websocket_origin=origins, num_procs=num_procs,
                        compress_response=True, extra_patterns=[("/liveness", Liveness)])
        enable_batching(enable_nodelay(server))
        server.start()
        server.io_loop.start()
    else:
        raise SystemExit(f"unknown baseline {kind!r}: panel, bokeh or panel-stock")


if __name__ == "__main__":
    main(*sys.argv[1:])
