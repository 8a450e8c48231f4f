"""`downhill`: serve the playground (placeholder options until the app issue lands)."""

import argparse
from pathlib import Path

import panel as pn


def main(argv=None):
    parser = argparse.ArgumentParser(prog="downhill", description=__doc__)
    parser.add_argument("--port", type=int, default=5006)
    parser.add_argument("--address", default="localhost")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args(argv)
    pn.serve(
        {"/": str(Path(__file__).with_name("main.py"))},
        port=args.port,
        address=args.address,
        show=not args.no_browser,
        liveness=True,
    )
