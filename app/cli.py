"""`downhill`: serve the Downhill playground (the same page as `panel serve app/main.py`)."""

import argparse
import os
from pathlib import Path

from app import server

MAIN = Path(__file__).with_name("main.py")
# Comma-separated HOST[:PORT] origins, used when --allow-websocket-origin is not given (Docker).
ORIGIN_VARIABLE = "DOWNHILL_ALLOW_WEBSOCKET_ORIGIN"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="downhill",
        description="Serve the Downhill playground: four lessons on how models learn.",
    )
    parser.add_argument("--port", type=int, default=5006, help="port to listen on (5006)")
    parser.add_argument(
        "--address", default="localhost",
        help="address to listen on (localhost; 0.0.0.0 for every interface)",
    )
    parser.add_argument(
        "--allow-websocket-origin", action="append", default=None, metavar="HOST[:PORT]",
        help="a host allowed to open the page's websocket, e.g. lecture.example.org; "
        f"repeat for several (default: ${ORIGIN_VARIABLE}, comma-separated, else the address "
        "and port served)",
    )
    parser.add_argument(
        "--num-procs", type=int, default=1,
        help="worker processes sharing the port (1; 0 = one per CPU)",
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="do not open a browser tab on start"
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if args.num_procs < 0:
        parser.error(f"--num-procs must be 0 or more, not {args.num_procs}")
    return args


def server_options(args):
    """The keyword arguments for `pn.serve`, from the parsed command line."""
    options = dict(
        port=args.port,
        address=args.address,
        show=not args.no_browser,
        title="Downhill",
        liveness=True,  # /liveness for health checks and the test fixtures
        admin=False,
        compress_response=True,  # ~2.8 MB of JavaScript travels as ~0.8 MB
        num_procs=args.num_procs,
        start=True,
        threaded=False,
    )
    from_environment = os.environ.get(ORIGIN_VARIABLE, "").split(",")
    origins = args.allow_websocket_origin or [o.strip() for o in from_environment if o.strip()]
    if "*" in origins:
        print("downhill: WARNING: websocket origin '*' lets any web page drive this server; "
              "name the hosts students use instead (see SECURITY.md)")
    if origins:
        options["websocket_origin"] = origins
    return options


def main(argv=None):
    args = parse_args(argv)
    # app.server adds what pn.serve lacks (TCP_NODELAY on websockets) and then serves.
    server.serve({"/": str(MAIN)}, **server_options(args))


if __name__ == "__main__":
    main()
