"""Every code example in docs/ runs and prints what the text says.

Each Markdown file is a doctest file: its ``>>>`` examples run in order, in one namespace
per file, and their output must match (whitespace-insensitive, ``...`` matches anything).
A failure is reported with the file and line of the example, as doctest prints it.
"""
from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
FILES = sorted(DOCS.rglob("*.md"))
OPTIONS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_there_are_docs():
    assert DOCS / "tutorial.md" in FILES and len(FILES) > 1


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(DOCS)))
def test_examples_run(path: Path):
    text = path.read_text(encoding="utf-8")
    name = str(path.relative_to(DOCS.parent))
    test = doctest.DocTestParser().get_doctest(text, globs={}, name=name, filename=name, lineno=0)
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    try:
        result = runner.run(test, out=report.append)
    finally:
        test.globs.clear()  # break reference cycles between the examples' objects
    assert result.failed == 0, "".join(report)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(DOCS)))
def test_python_blocks_are_doctests(path: Path):
    """A ```python block without >>> would never run: every one must be an example."""
    text = path.read_text(encoding="utf-8")
    for match in PYTHON_BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        assert match.group(1).lstrip().startswith(">>>"), f"{path.name}:{line}: python block without >>>"
