"""Run PyTorch's own recurrent-layer tests with rnnlib's classes in place of torch.nn's.

rnnlib promises that :class:`rnnlib.RNN`, ``LSTM``, ``GRU`` and the three cells can replace
torch.nn's. This script checks the promise against PyTorch's test suite: it puts rnnlib's
classes under torch.nn's names (``torch.nn.LSTM``, ``torch.nn.modules.rnn.LSTM``, ...) *before*
the test files are imported, so that every test (and the module database of
``torch/testing/_internal/common_modules.py``, which records ``torch.nn.LSTM`` at import) builds
rnnlib's layers, then runs the recurrent-layer tests with pytest and counts the results.

PyTorch's test files are not part of this repository. Put those of the installed torch version
(or the closest) in a directory, as laid out in PyTorch's ``test/`` folder::

    DIR/test_nn.py  DIR/test_modules.py  DIR/nn/test_pruning.py     (those present are run)

Usage, from the repository root::

    PYTHONPATH=. .venv/bin/python tools/torch_suite.py DIR            # rnnlib in place
    PYTHONPATH=. .venv/bin/python tools/torch_suite.py DIR --torch    # torch.nn, the baseline
    PYTHONPATH=. .venv/bin/python tools/torch_suite.py DIR -k "lstm and grad" -- -x -q

Tests are selected by name (``-k``, case-insensitive, default ``rnn or lstm or gru``). The
summary counts *cases* (collected tests) and *functions*: a test function is a case's name
without its device and dtype suffix (``test_forward_nn_LSTM_cpu_float64`` -> the function
``test_forward_nn_LSTM``); it passes in full when all of its cases pass. Skipped cases (CUDA
only, for instance) count in neither.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest

SWAPPED = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")
TEST_FILES = ("test_nn.py", "test_modules.py", "nn/test_pruning.py")
DEFAULT_SELECTION = "rnn or lstm or gru"
_SUFFIX = re.compile(r"_(cpu|cuda|meta|mps)(_[a-z0-9]+)*$")


def swap_in_rnnlib() -> None:
    """Make torch.nn's recurrent classes rnnlib's, under every name the tests reach them by."""
    import torch.nn
    import torch.nn.modules
    import torch.nn.modules.rnn

    import rnnlib.nn

    for name in SWAPPED:
        for namespace in (torch.nn, torch.nn.modules, torch.nn.modules.rnn):
            setattr(namespace, name, getattr(rnnlib.nn, name))


class Tally:
    """A pytest plugin that records the outcome of every case, then summarises by function."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}
        self.errors: dict[str, str] = {}

    def pytest_runtest_logreport(self, report) -> None:
        name = report.nodeid
        if report.when == "call" or report.outcome != "passed":
            if self.outcomes.get(name) in ("failed", "error"):
                return  # a teardown after a failure does not change it
            outcome = report.outcome if report.when == "call" else (
                "skipped" if report.skipped else "error")
            self.outcomes[name] = outcome
            if report.failed:
                self.errors[name] = _first_line(report)

    def summary(self) -> str:
        functions: dict[str, list[str]] = defaultdict(list)
        for nodeid, outcome in self.outcomes.items():
            if outcome != "skipped":
                functions[_function(nodeid)].append(outcome)
        cases = [o for outs in functions.values() for o in outs]
        full = [f for f, outs in functions.items() if all(o == "passed" for o in outs)]
        lines = [
            f"functions passing in full: {len(full)} of {len(functions)}",
            f"cases passing: {cases.count('passed')} of {len(cases)}",
            "",
            "failures (case: first line of the error):",
        ]
        lines += [f"  {nodeid}: {msg}" for nodeid, msg in sorted(self.errors.items())]
        return "\n".join(lines)


def _function(nodeid: str) -> str:
    """``path::Class::test_x_nn_LSTM_cpu_float32`` -> ``path::Class::test_x_nn_LSTM``."""
    return _SUFFIX.sub("", nodeid.split("[")[0])


def _first_line(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    return text.strip().splitlines()[0][:200] if text.strip() else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tests", type=Path, help="directory holding PyTorch's test files")
    parser.add_argument("--torch", action="store_true",
                        help="run with torch.nn's own classes (the baseline)")
    parser.add_argument("-k", default=DEFAULT_SELECTION, help="pytest -k selection")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments, after --")
    # parse_known_args: argparse hands an empty pytest_args to the positional right after DIR,
    # so what follows "--" (pytest's own options) is left over; pass it on.
    args, rest = parser.parse_known_args(argv)
    args.pytest_args += [a for a in rest if a != "--"]

    files = [args.tests / f for f in TEST_FILES if (args.tests / f).exists()]
    if not files:
        parser.error(f"none of {', '.join(TEST_FILES)} is in {args.tests}")
    if not args.torch:
        swap_in_rnnlib()
    sys.path.insert(0, str(args.tests))  # some test files import their neighbours
    tally = Tally()
    code = pytest.main([*map(str, files), "-k", args.k, "-p", "no:cacheprovider", "-q",
                        "--no-header", "-rN", *args.pytest_args], plugins=[tally])
    print(f"\n== {'torch.nn' if args.torch else 'rnnlib'} in place ==")
    print(tally.summary())
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
