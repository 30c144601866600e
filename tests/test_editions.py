"""The English (``notebooks/``) and Chinese (``notebooks/zh/``) editions run the same code.

The Chinese edition is written in its own prose, but cell for cell beside the English one: the
same cells in the same order, the same kind of cell at each place, every code cell identical.
The only exception is a code cell tagged ``edition-specific`` in both editions (the setup cell,
where the Chinese edition adds ``xh.set_language("zh")``): it may differ only by lines that call
``set_language`` and by ``lang="en"``/``lang="zh"``. Such cells run in CI like every other cell
(the notebooks of both editions run in fast mode in ``tests/publishing/test_book.py``).

What this catches: a fix made in one edition only (a changed default, a new assert, a different
exercise or hidden test), a cell added or dropped in one edition, nbgrader metadata that differs
(a teacher grading the Chinese edition would grade something else), a Chinese notebook left in
English, a link that points at a notebook or document that does not exist from where it is.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from xai_helpers import REPO_ROOT

ENGLISH = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHINESE_DIR = REPO_ROOT / "notebooks" / "zh"
TAG = "edition-specific"
HAN = re.compile(r"[\u4e00-\u9fff]")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
CHINESE_HEADINGS = ["常见错误", "小结", "练习"]


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def normalise_edition_specific(source: str) -> str:
    """The cell with what may differ between editions taken out (and blank lines, which
    change nothing).

    Example:
        >>> normalise_edition_specific('import xai_helpers as xh\\n\\nxh.set_language("zh")\\n'
        ...                            'xh.label_image(x, 1, lang="zh")')
        'import xai_helpers as xh\\nxh.label_image(x, 1, lang="en")'
    """
    lines = [line for line in source.splitlines()
             if line.strip() and "set_language(" not in line]
    return re.sub(r"""lang\s*=\s*["']zh["']""", 'lang="en"', "\n".join(lines))


def edition_differences(english, chinese) -> list[str]:
    """What makes the two notebooks run different code (empty when they are in step)."""
    problems = []
    if len(english.cells) != len(chinese.cells):
        return [f"{len(english.cells)} cells in English, {len(chinese.cells)} in Chinese: "
                "keep the editions cell for cell"]
    for i, (en, zh) in enumerate(zip(english.cells, chinese.cells)):
        if en.cell_type != zh.cell_type:
            problems.append(f"cell {i}: {en.cell_type} in English, {zh.cell_type} in Chinese")
            continue
        if en.metadata.get("nbgrader") != zh.metadata.get("nbgrader"):
            problems.append(f"cell {i}: nbgrader metadata differs")
        if en.cell_type != "code":
            continue
        if (TAG in _tags(en)) != (TAG in _tags(zh)):
            problems.append(f"cell {i}: tagged {TAG!r} in one edition only")
        elif TAG in _tags(en):
            if normalise_edition_specific(en.source) != normalise_edition_specific(zh.source):
                problems.append(f"cell {i} ({TAG}): differs by more than set_language/lang=")
        elif en.source != zh.source:
            problems.append(f"cell {i}: code differs")
    return problems


def test_every_notebook_has_a_chinese_edition():
    assert ENGLISH
    chinese = sorted(p.name for p in CHINESE_DIR.glob("*.ipynb"))
    assert chinese == [p.name for p in ENGLISH], \
        "notebooks/zh/ holds one notebook per English notebook, with the same name"


@pytest.mark.parametrize("path", ENGLISH, ids=lambda p: p.name[:2])
def test_the_editions_run_the_same_code(path):
    problems = edition_differences(_read(path), _read(CHINESE_DIR / path.name))
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", ENGLISH, ids=lambda p: p.name[:2])
def test_the_chinese_edition_is_chinese(path):
    chinese = _read(CHINESE_DIR / path.name)
    code = "\n".join(c.source for c in chinese.cells if c.cell_type == "code")
    assert re.search(r"""set_language\(\s*["']zh["']\s*\)""", code), \
        "the Chinese edition sets the workbook language to Chinese in its setup cell"
    assert sum(TAG in _tags(c) for c in chinese.cells) <= 2, \
        f"at most two {TAG!r} cells: everything else is shared code"
    for i, cell in enumerate(chinese.cells):
        if cell.cell_type != "markdown":
            continue
        prose = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`|\([^)]*\)|<[^>]*>", "", cell.source,
                       flags=re.S)
        latin_words = re.findall(r"[A-Za-z]{4,}", prose)
        assert HAN.search(cell.source) or len(latin_words) < 3, \
            f"markdown cell {i} of the Chinese edition is not in Chinese"
    headings = [line for c in chinese.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("#")]
    for required in CHINESE_HEADINGS:
        assert any(required in h for h in headings), f"missing a '{required}' section"


def test_the_check_catches_what_it_is_for():
    english = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("import xai_helpers as xh", metadata={"tags": [TAG]}),
        nbformat.v4.new_code_cell("x = 1\nassert x == 1")])
    chinese = nbformat.from_dict(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 标题"),
        nbformat.v4.new_code_cell('import xai_helpers as xh\nxh.set_language("zh")',
                                  metadata={"tags": [TAG]}),
        nbformat.v4.new_code_cell("x = 1\nassert x == 1")]))
    assert edition_differences(english, chinese) == []
    drifted = nbformat.from_dict(chinese)
    drifted.cells[2].source = "x = 2\nassert x == 2"                  # fixed in one edition
    assert edition_differences(english, drifted) == ["cell 2: code differs"]
    sneaky = nbformat.from_dict(chinese)
    sneaky.cells[1].source += "\nx = 3"                                # more than the language
    assert "differs by more" in edition_differences(english, sneaky)[0]
    shorter = nbformat.from_dict(chinese)
    shorter.cells.pop()
    assert "cell for cell" in edition_differences(english, shorter)[0]
    graded = nbformat.from_dict(chinese)
    graded.cells[2].metadata["nbgrader"] = {"grade": True, "points": 3}
    assert edition_differences(english, graded) == ["cell 2: nbgrader metadata differs"]


@pytest.mark.parametrize("path", ENGLISH + sorted(CHINESE_DIR.glob("*.ipynb")),
                         ids=lambda p: str(p.relative_to(REPO_ROOT / "notebooks")))
def test_relative_links_point_at_files_that_exist(path):
    for cell in _read(path).cells:
        if cell.cell_type != "markdown":
            continue
        for target in LINK.findall(cell.source):
            if re.match(r"[a-z]+:", target):          # http:, https:, mailto:
                continue
            assert (path.parent / target).exists(), f"{path.name}: broken link {target!r}"
