"""House rules for the chapter notebooks (their execution is nbval's job, in the same run)."""

import json
import re
from pathlib import Path

import pytest

CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"
NOTEBOOKS = sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))
NETWORK = re.compile(
    r"urlretrieve|download\s*=\s*True|requests\.get\(|urlopen\(|hf_hub_download|load_dataset\("
    r"|https?://[^\s\"')]+\.(?:csv|zip|gz|tgz|npz|pt|txt)\b"
)


def test_there_are_chapters():
    assert NOTEBOOKS, f"no chapter notebooks found in {CHAPTERS}"


@pytest.fixture(params=NOTEBOOKS, ids=[nb.name for nb in NOTEBOOKS])
def notebook(request):
    return request.param, json.loads(request.param.read_text(encoding="utf-8"))


def test_no_stored_outputs_or_execution_counts(notebook):
    path, nb = notebook
    dirty = [
        i for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: code cells {dirty} keep outputs or execution counts"


def test_kernelspec_is_python3(notebook):
    path, nb = notebook
    name = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    assert name == "python3", f"{path.name}: kernelspec {name!r}, expected 'python3'"


def test_no_network_access(notebook):
    path, nb = notebook
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            assert not NETWORK.search(source), f"{path.name}: cell {i} looks like it downloads data"


def test_first_code_cell_seeds_and_picks_the_device(notebook):
    path, nb = notebook
    first = next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "rl.seed(" in first and "rl.device()" in first, (
        f"{path.name}: the first code cell should call rl.seed(...) and rl.device()"
    )


def test_page_starts_with_a_title_and_leaves_numbering_to_the_book(notebook):
    path, nb = notebook
    first = "".join(nb["cells"][0]["source"]).lstrip()
    assert re.match(r"# [A-Z]", first), (
        f"{path.name}: the first cell should start with '# Title' (the toc numbers chapters)"
    )
