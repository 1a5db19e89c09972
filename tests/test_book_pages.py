"""The front and back matter: every reference is cited; no page points outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIB = ROOT / "book" / "references.bib"


def bib_keys() -> list[str]:
    return re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(encoding="utf-8"), flags=re.M)


def pages() -> dict[Path, str]:
    found = sorted((ROOT / "book").glob("*.md")) + sorted((ROOT / "chapters").glob("*.ipynb"))
    return {p: p.read_text(encoding="utf-8") for p in found}


def test_the_bibliography_has_entries():
    assert len(bib_keys()) >= 3


def test_every_bibliography_entry_is_cited_somewhere():
    """The bibliography lists every entry (`:all:`), so an uncited one is dead weight."""
    text = "\n".join(pages().values())
    cited = {k.strip() for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text)
             for k in group.split(",")}
    uncited = sorted(set(bib_keys()) - cited)
    assert not uncited, f"entries in {BIB.name} that no page cites: {uncited}"


def test_every_citation_has_an_entry():
    text = "\n".join(pages().values())
    cited = {k.strip() for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text)
             for k in group.split(",")}
    unknown = sorted(cited - set(bib_keys()))
    assert not unknown, f"citations with no entry in {BIB.name}: {unknown}"


def test_no_page_points_outside_the_repository():
    """A reader who clones the repository has no ../shared (the project's working folder)."""
    for path, text in {**pages(), ROOT / "README.md": (ROOT / "README.md").read_text()}.items():
        assert "../shared" not in text, f"{path.name} points to ../shared, outside the repository"
