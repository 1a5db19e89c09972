"""One execution of each notebook serves both the tests and the book.

`make test` executes every chapter under nbval, then builds the book. Executing each notebook a
second time for the book would double the longest part of the run, so the root ``conftest.py``
hands each notebook that nbval ran without a failure to the book's execution cache
(jupyter-cache, the store that Jupyter Book's ``execute_notebooks: cache`` reads), outputs
included. The build then finds every notebook there and executes none.

jupyter-cache keys a notebook on its code cells only, so it cannot tell that ``rnnlib`` or the
requirements changed under an unchanged notebook. ``fresh()`` therefore stores a key computed
from them next to the cache and empties the cache when the key changes; `make book` and
`make test` call it (``python tests/nbcache.py fresh``) before anything executes, and ``store()``
calls it again, so an execution against other code never reaches the book.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
CACHE = BUILD / ".jupyter_cache"  # Jupyter Book's default execution_cache_path
KEY_FILE = BUILD / ".rnnlib-key"
STALE = (CACHE, BUILD / "jupyter_execute")


def code_key() -> str:
    """A hash of everything besides a notebook's own cells that decides its outputs."""
    digest = hashlib.sha256()
    files = [ROOT / "requirements.txt", *sorted((ROOT / "rnnlib").rglob("*.py"))]
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fresh(verbose: bool = True) -> bool:
    """Empty the execution cache if rnnlib or the requirements changed; True if it did."""
    key = code_key()
    if KEY_FILE.exists() and KEY_FILE.read_text().strip() == key:
        return False
    if verbose:
        print("== rnnlib or requirements changed: clearing the notebook execution cache ==")
    for path in STALE:
        shutil.rmtree(path, ignore_errors=True)
    BUILD.mkdir(exist_ok=True)
    KEY_FILE.write_text(key + "\n")
    return True


def store(path: Path, outputs: list[list], seconds: float) -> None:
    """Put a notebook executed elsewhere (by nbval) into the book's execution cache.

    ``outputs[k]`` holds the outputs of the notebook's k-th code cell, in order, as nbval
    received them. Every code cell must be there: a notebook that did not run to the end is not
    stored, and the book build executes it itself.
    """
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if len(outputs) != len(code):
        raise ValueError(f"{path.name}: outputs of {len(outputs)} code cells, expected {len(code)}")
    for count, (cell, outs) in enumerate(zip(code, outputs, strict=True), start=1):
        cell.execution_count = count
        cell.outputs = [_output(out, count) for out in outs]
    nbformat.validate(nb)
    fresh(verbose=False)
    get_cache(str(CACHE)).cache_notebook_bundle(
        CacheBundleIn(nb, str(path.resolve()), data={"execution_seconds": seconds}),
        check_validity=True,
        overwrite=True,
    )


def _output(out, count: int):
    """An nbval output (a message turned into a node) as a valid nbformat v4 output."""
    import nbformat

    kind = out["output_type"]
    if kind == "stream":
        return nbformat.v4.new_output("stream", name=out["name"], text=out["text"])
    if kind in ("display_data", "execute_result"):
        extra = {"execution_count": count} if kind == "execute_result" else {}
        return nbformat.v4.new_output(
            kind, data=dict(out["data"]), metadata=dict(out.get("metadata", {})), **extra
        )
    if kind == "error":
        return nbformat.v4.new_output(
            "error", ename=out["ename"], evalue=out["evalue"], traceback=out["traceback"]
        )
    raise ValueError(f"unexpected output type {kind!r} from nbval")


if __name__ == "__main__":
    if sys.argv[1:] != ["fresh"]:
        sys.exit("usage: python tests/nbcache.py fresh")
    fresh()
