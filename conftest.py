"""Repository-wide pytest plugin for the notebooks that nbval executes.

- A table of per-notebook execution times: nbval turns every cell of a notebook into a test
  item; this adds up the time of each notebook's cells and prints one line per notebook at the
  end of the run, so drift against the 60-second budget is visible in every CI log.
- One execution serves the tests and the book: each notebook whose cells all passed goes, with
  its outputs, into the book's execution cache (see ``tests/nbcache.py``), so the book build
  that follows in `make test` does not execute it again. Set ``RNNLIB_NBCACHE=0`` to turn it off.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from pathlib import Path

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


_outputs: dict[str, list] = defaultdict(list)
_stored: list[str] = []


def pytest_runtest_teardown(item, nextitem):
    """After the last cell of a notebook, hand the executed notebook to the book's cache."""
    if not hasattr(item, "test_outputs") or not hasattr(item, "cell_num"):
        return  # not an nbval cell
    path = item.nodeid.split("::", 1)[0]
    _outputs[path].append(item.test_outputs)
    if nextitem is not None and nextitem.nodeid.split("::", 1)[0] == path:
        return
    outputs = _outputs.pop(path)
    if path in _failed or os.environ.get("RNNLIB_NBCACHE") == "0":
        return
    if any(outs is None for outs in outputs):
        return  # a cell did not run (skipped, or the run was cut short)
    sys.path.insert(0, str(Path(__file__).parent / "tests"))
    try:
        import nbcache
    finally:
        sys.path.pop(0)
    nbcache.store(Path(item.config.rootpath, path), outputs, _times[path])
    _stored.append(path)


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
    if _stored:
        tr.write_line(f"{len(_stored)} executed notebooks stored for the book build")
