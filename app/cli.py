"""`downhill`: serve the Downhill playground (the same page as `panel serve app/main.py`)."""

import argparse
import ctypes
import os
from pathlib import Path

from app import server

MAIN = Path(__file__).with_name("main.py")
# Comma-separated HOST[:PORT] origins, used when --allow-websocket-origin is not given (Docker).
ORIGIN_VARIABLE = "DOWNHILL_ALLOW_WEBSOCKET_ORIGIN"
# glibc gives each thread that allocates its own malloc arena (up to 8 per core). Sessions are
# built on the event loop and their callbacks run on Bokeh's worker threads, so freed memory
# stays scattered over many arenas and is not returned: churning 40 sessions grew RSS ~14 MB
# a round with Python objects flat. Two arenas keep it flat (see tests/reliability/test_leaks).
MALLOC_ARENAS = 2
M_ARENA_MAX = -8  # glibc's mallopt() parameter behind the MALLOC_ARENA_MAX variable
# Bokeh keeps a closed session 15 s before freeing it and looks every 17 s.
SESSION_LIFETIME = 15.0


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
    parser.add_argument(
        "--session-lifetime", type=float, default=SESSION_LIFETIME, metavar="SECONDS",
        help="how long a closed page's session is kept before its memory is freed "
        f"({SESSION_LIFETIME:g}; checked every half lifetime, at least every 17 s)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, not {args.port}")
    if args.num_procs < 0:
        parser.error(f"--num-procs must be 0 or more, not {args.num_procs}")
    if not 0.1 <= args.session_lifetime <= 3600:
        parser.error(f"--session-lifetime must be between 0.1 and 3600 s, "
                     f"not {args.session_lifetime:g}")
    return args


def limit_malloc_arenas(arenas=MALLOC_ARENAS):
    """What MALLOC_ARENA_MAX=`arenas` does, for this process: call glibc's mallopt().

    Call it before any thread starts (threads made earlier may keep arenas of their own).
    Returns whether the limit is set: False where the C library is not glibc (macOS,
    Windows, musl) and where MALLOC_ARENA_MAX is set already (glibc obeyed it at start-up).
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        libc_version = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, ValueError, OSError):  # no confstr, or not a glibc system
        return False
    if not libc_version.startswith("glibc"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return libc.mallopt(M_ARENA_MAX, arenas) == 1


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
        unused_session_lifetime_milliseconds=round(args.session_lifetime * 1000),
        check_unused_sessions_milliseconds=round(min(17.0, args.session_lifetime / 2) * 1000),
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
    limit_malloc_arenas()  # first: Panel's import and the server start threads
    args = parse_args(argv)
    # app.server adds what pn.serve lacks (TCP_NODELAY on websockets) and then serves.
    server.serve({"/": str(MAIN)}, **server_options(args))


if __name__ == "__main__":
    main()
