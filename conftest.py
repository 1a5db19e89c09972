"""Repository-wide pytest plugin: a table of per-notebook execution times.

nbval turns every cell of a notebook into a test item; this adds up the time of each
notebook's cells and prints one line per notebook at the end of the run, so drift against
the 60-second budget is visible in every CI log.
"""

from __future__ import annotations

from collections import defaultdict

BUDGET_S = 60.0  # per notebook, on a 2-core CPU

_times: dict[str, float] = defaultdict(float)
_failed: set[str] = set()


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if not path.endswith(".ipynb"):
        return
    _times[path] += report.duration  # setup + call + teardown phases
    if report.failed:
        _failed.add(path)


def pytest_terminal_summary(terminalreporter):
    if not _times:
        return
    tr = terminalreporter
    tr.section("notebook execution times")
    width = max(len(p) for p in _times)
    tr.write_line(f"{'notebook':<{width}}  {'seconds':>8}  status")
    for path in sorted(_times):
        seconds = _times[path]
        status = "FAILED" if path in _failed else "ok"
        if seconds > BUDGET_S:
            status += f" (over the {BUDGET_S:.0f} s budget)"
        tr.write_line(f"{path:<{width}}  {seconds:8.1f}  {status}")
    tr.write_line(f"{'total':<{width}}  {sum(_times.values()):8.1f}")
