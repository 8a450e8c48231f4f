"""Print the stable stretches the live oracle measured (how long torch agrees with itself)."""

from tests.oracle import live


def pytest_terminal_summary(terminalreporter):
    if not live.STABLE_STRETCHES:
        return
    stretches = live.STABLE_STRETCHES
    lengths = sorted(stretches.values())
    full = sum(1 for n in lengths if n > 1000)
    terminalreporter.section("torch stable stretches (points compared, of 1001)")
    terminalreporter.write_line(
        f"{len(lengths)} runs: {full} stable over all 1001 points; min {lengths[0]}, "
        f"median {lengths[len(lengths) // 2]}")
    for case_id, n in sorted(stretches.items(), key=lambda item: item[1]):
        if n <= 1000:
            terminalreporter.write_line(f"  {n:5d}  {case_id}")
