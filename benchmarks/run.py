"""Downhill's benchmark suite: `make bench` (or `.venv/bin/python benchmarks/run.py`).

Runs every section in SECTIONS (or the ones named on the command line), prints one table and
writes the numbers to benchmarks/results/<UTC time>.json and benchmarks/results/latest.json.

A section is a module in benchmarks/ with TITLE and run(repeats, quick) -> rows; a row is a dict
with name, seconds (a median, or None), target_s (or None), ok (True / False / None = no target)
and note, optionally ratio; or, for other units, value + unit + target (text) instead of
seconds / target_s. Add a section by writing the module and listing it here.
`--quick` runs every section with fewer samples and sessions (minutes, for development).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECTIONS = ["core", "browser", "sessions", "load", "restart", "hall"]
RESULTS = ROOT / "benchmarks" / "results"


def _format_seconds(seconds):
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _format_value(value, unit):
    if value is None:
        return "—"
    if unit == "×":
        return f"{value:.2f}×"
    return f"{value:.3g} {unit}" if abs(value) < 1000 else f"{value:.0f} {unit}"


def _format_row(row):
    if "unit" in row:
        value, target = _format_value(row["value"], row["unit"]), row.get("target") or ""
    else:
        value = f"{row['ratio']:.2f}×" if "ratio" in row else _format_seconds(row.get("seconds"))
        target = f"< {_format_seconds(row['target_s'])}" if row.get("target_s") else ""
    verdict = {True: "ok", False: "MISSED", None: ""}[row.get("ok")]
    return row["name"], value, target, verdict, row.get("note", "")


def print_table(title, rows):
    cells = [_format_row(row) for row in rows]
    widths = [max(len(c[i]) for c in cells + [("benchmark", "value", "target", "", "")])
              for i in range(4)]
    print(f"\n== {title} ==")
    header = ("benchmark", "value", "target", "")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for cell in cells:
        line = "  ".join(c.ljust(w) for c, w in zip(cell[:4], widths, strict=True))
        print(f"{line}  {cell[4]}".rstrip())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", default=SECTIONS,
                        help=f"sections to run (default: all of {', '.join(SECTIONS)})")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per number")
    parser.add_argument("--quick", action="store_true",
                        help="fewer samples and sessions: a few minutes, for development")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {SECTIONS}")

    started = datetime.now(UTC)
    report = {
        "started": started.isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "repeats": args.repeats,
        "quick": args.quick,
        "command": " ".join(["benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "sections": {},
    }
    missed = []
    for name in args.sections:
        section = importlib.import_module(f"benchmarks.{name}")
        if "quick" in inspect.signature(section.run).parameters:
            rows = section.run(repeats=args.repeats, quick=args.quick)
        else:
            rows = section.run(repeats=args.repeats)
        print_table(section.TITLE, rows)
        report["sections"][name] = {"title": section.TITLE, "rows": rows}
        missed += [row["name"] for row in rows if row.get("ok") is False]

    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=1) + "\n"
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"{stamp}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)
    print(f"\nwrote benchmarks/results/{stamp}.json (and latest.json)")
    if missed:
        print(f"{len(missed)} target(s) missed: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
