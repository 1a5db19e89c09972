import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "check_offline_html", Path(__file__).with_name("check_offline_html.py")
)
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_page_with_local_mathjax_and_no_remote_assets_passes(tmp_path):
    page = '<div class="math">x</div><script src="_static/mathjax/tex-chtml.js?v=1">'
    write(tmp_path / "a.html", page)
    assert check.problems(tmp_path) == []


def test_remote_scripts_fonts_and_cdn_mathjax_are_reported(tmp_path):
    write(tmp_path / "a.html", '<div class="math">x</div><script src="https://cdn.x/tex-chtml.js">')
    write(tmp_path / "_static" / "s.css", "@font-face { src: url(https://fonts.x/f.woff2) }")
    found = "\n".join(check.problems(tmp_path))
    assert "loads https://cdn.x/tex-chtml.js" in found
    assert "no local MathJax" in found
    assert "loads https://fonts.x/f.woff2" in found


def test_an_empty_build_is_a_problem(tmp_path):
    assert check.problems(tmp_path)
