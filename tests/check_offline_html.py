"""Check that the built book reads with no network: no page loads a remote script, style,
font or image, and MathJax is served from the build.

Run by `make test` after the book build:  python tests/check_offline_html.py _build/html
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

REMOTE_TAG = re.compile(
    r'<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)="((?:https?:)?//[^"]+)"'
)
LOCAL_MATHJAX = re.compile(r'src="[^"]*_static/mathjax/tex-chtml\.js(?:\?[^"]*)?"')
REMOTE_CSS = re.compile(r"url\(\s*['\"]?((?:https?:)?//[^'\")]+)")


def problems(html_dir: Path) -> list[str]:
    found = []
    pages = sorted(html_dir.rglob("*.html"))
    if not pages:
        return [f"no HTML pages under {html_dir}: build the book first"]
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        for url in REMOTE_TAG.findall(text):
            found.append(f"{page.relative_to(html_dir)}: loads {url}")
        if "<math" in text or 'class="math' in text:
            if not LOCAL_MATHJAX.search(text):
                found.append(f"{page.relative_to(html_dir)}: has equations but no local MathJax")
    for sheet in sorted(html_dir.rglob("_static/**/*.css")):
        for url in REMOTE_CSS.findall(sheet.read_text(encoding="utf-8", errors="replace")):
            found.append(f"{sheet.relative_to(html_dir)}: loads {url}")
    return found


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html")
    issues = problems(root)
    for line in issues:
        print(line)
    pages = len(list(root.rglob("*.html")))
    print(f"offline check: {pages} pages, {len(issues)} remote assets" if not issues else "")
    sys.exit(1 if issues else 0)
