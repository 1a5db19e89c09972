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


# A measured number typed into prose: a decimal with two or more places, a percentage, or
# scientific notation, outside maths ($...$, $$...$$), code (`...`) and glue roles. The book
# inserts measured numbers with {glue:text}`key` (see rnnlib.glue); a constant that is maths,
# not measurement (the slope bound 0.25, the baseline 1/6), is written as maths: $0.25$.
MATH_AND_CODE = re.compile(r"```.*?```|\$\$.*?\$\$|\$[^$\n]*\$|`[^`\n]*`", flags=re.S)
TYPED_NUMBER = re.compile(
    r"(?<![\w.{`])(\d+(?:\.\d+)?e[-+]?\d+|\d+\.\d+|\d+(?:\.\d+)?\s?%)(?![\w`])"
)


def typed_numbers(markdown: str) -> list[str]:
    """The numbers in ``markdown`` that look measured and are typed rather than glued."""
    return TYPED_NUMBER.findall(MATH_AND_CODE.sub(" ", markdown))


def test_typed_numbers_detector():
    assert typed_numbers("the loss fell to 0.013 and accuracy to 97 %") == ["0.013", "97 %"]
    assert typed_numbers("a norm of 2.7e4 after 500 steps") == ["2.7e4"]
    assert typed_numbers("bound $0.25$, loss {glue:text}`loss:.3f`, `lr=0.01`, T = 100") == []
    assert typed_numbers("$$\n\\sigma' \\le 0.25\n$$ and ```\nx = 0.125\n```") == []


def test_measured_numbers_in_prose_are_glued(notebook):
    path, nb = notebook
    typed = {
        i: found
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "markdown" and (found := typed_numbers("".join(cell["source"])))
    }
    assert not typed, (
        f"{path.name}: numbers typed into prose (markdown cell: numbers) {typed}; glue measured "
        "numbers with rl.glue(...) and {glue:text}`key`, and write constants as maths ($...$)"
    )


GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)")


def test_every_glued_key_in_prose_is_glued_by_code(notebook):
    path, nb = notebook
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    used = {
        key for c in nb["cells"] if c["cell_type"] == "markdown"
        for key in GLUE_ROLE.findall("".join(c["source"]))
    }
    glued = set(re.findall(r"glue\(\s*[\"']([^\"']+)[\"']", code))
    missing = sorted(used - glued)
    assert not missing, f"{path.name}: prose uses glue keys no code cell glues: {missing}"


SOURCE_CHECK = re.compile(r"[:`]{3,}\{admonition\}\s*Source check")


def test_source_checks_say_what_the_source_says_and_what_was_measured(notebook):
    """Corrections of the sources share one visible form (see the README's rules)."""
    path, nb = notebook
    for i, cell in enumerate(nb["cells"]):
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and SOURCE_CHECK.search(text):
            assert "**The source says**" in text and "**Measured here:**" in text, (
                f"{path.name}: cell {i} has a Source check without '**The source says**' "
                "and '**Measured here:**'"
            )
