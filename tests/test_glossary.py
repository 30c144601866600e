"""The Chinese glossary (``docs/glossary.md``) is the one source of the workbook's Chinese terms.

Its table is parsed here and checked three ways: every method of :data:`xai_helpers.METHODS` has
a row whose Chinese term is the method's ``name_zh`` (a); no notebook heading, in either edition,
uses a term the glossary rejects in its 不用 (avoid) column, and an English method name in an
English-edition heading is followed by the glossary's Chinese name (b); no Chinese term stands for
two concepts (c).

The tests below them check that the parser and the heading checks do catch the
inconsistencies they are meant to catch.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from xai_helpers.registry import METHODS

REPO_ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = REPO_ROOT / "docs" / "glossary.md"
ENGLISH_NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
CHINESE_NOTEBOOKS = sorted((REPO_ROOT / "notebooks" / "zh").glob("*.ipynb"))
HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Row:
    topic: str
    english: tuple[str, ...]          # the concept's English names (the cell split on " / ")
    zh: str                           # the one Chinese term
    avoid: tuple[str, ...]            # rejected alternatives (the cell split on "、")
    line: int                         # line number in docs/glossary.md, for messages


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_glossary(text: str) -> list[Row]:
    """The rows of the first table whose header names the English, 中文 and 不用 columns."""
    lines = text.splitlines()
    for start, line in enumerate(lines):
        if line.lstrip().startswith("|"):
            header = _cells(line)
            if {"English", "中文", "不用"} <= set(header):
                break
    else:
        raise AssertionError("docs/glossary.md has no table with the columns English | 中文 | 不用")
    column = {name: i for i, name in enumerate(header)}
    rows = []
    for number, line in enumerate(lines[start + 2:], start=start + 3):
        if not line.lstrip().startswith("|"):
            break
        cells = _cells(line)
        assert len(cells) == len(header), (
            f"docs/glossary.md line {number}: {len(cells)} cells, the header has {len(header)} "
            f"(a '|' inside a cell?)")
        avoid = cells[column["不用"]]
        rows.append(Row(
            topic=cells[column.get("主题", 0)],
            english=tuple(name.strip() for name in cells[column["English"]].split(" / ")),
            zh=cells[column["中文"]],
            avoid=() if avoid in ("", "—", "-") else tuple(a.strip() for a in avoid.split("、")),
            line=number))
    return rows


ROWS = parse_glossary(GLOSSARY.read_text(encoding="utf-8"))
ZH_TERMS = {row.zh for row in ROWS}


def row_for(name: str) -> Row | None:
    """The row that lists ``name`` among its English names (exact spelling)."""
    found = [row for row in ROWS if name in row.english]
    assert len(found) <= 1, f"{name!r} is an English name of several rows: " \
                            f"{[row.line for row in found]}"
    return found[0] if found else None


# -- reading notebook headings ------------------------------------------------------------------

def headings(path: Path) -> list[str]:
    """The heading lines of a notebook's markdown cells (lines in ``` fences excluded)."""
    found = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        fenced = False
        for line in source.splitlines():
            if line.lstrip().startswith("```"):
                fenced = not fenced
            elif not fenced and re.match(r"\s{0,3}#{1,6}\s", line):
                found.append(line.strip())
    return found


def avoided_terms_in(text: str) -> list[tuple[str, str]]:
    """``(avoided term, glossary term)`` for each rejected term the text uses.

    An occurrence does not count when it lies inside a longer glossary term at that place
    (局部可解释模型 inside 局部可解释模型无关解释); a glossary term inside a longer avoided one
    still does (梯度加权类激活映射 inside 导向梯度加权类激活映射).
    """
    legit = [(m.start(), m.end()) for term in ZH_TERMS
             for m in re.finditer(re.escape(term), text)]
    hits = []
    for row in ROWS:
        for term in row.avoid:
            for m in re.finditer(re.escape(term), text):
                inside = any(s <= m.start() and m.end() <= e and e - s > len(term)
                             for s, e in legit)
                if not inside:
                    hits.append((term, row.zh))
    return hits


def _method_patterns() -> list[tuple[re.Pattern, str, str]]:
    """(pattern, English name, glossary term) for each registry method's English names."""
    patterns = []
    for name in METHODS:
        row = row_for(name)
        if row is None:
            continue
        for alias in row.english:
            if alias != name and len(alias) < 4:       # "IG" would match too much
                continue
            flags = 0 if alias == alias.upper() else re.IGNORECASE   # CAM, LIME, RISE: exact
            pattern = re.compile(r"(?<![\w\-+])" + re.escape(alias) + r"(?![\w\-+])", flags)
            patterns.append((pattern, alias, row.zh))
    return patterns


METHOD_PATTERNS = _method_patterns()


def misnamed_methods_in(heading: str) -> list[tuple[str, str, str]]:
    """``(English name, Chinese that follows, glossary term)`` where a heading names a method
    in English, directly followed by Chinese, and that Chinese is not the glossary's term.

    Only names written the English-edition way count: not preceded by Chinese (in 与 CAM 的关系
    "CAM" is part of a Chinese phrase), and followed — after spaces or an opening bracket — by a
    Chinese character. Where names overlap, the longest wins (Guided Grad-CAM, not Grad-CAM).
    """
    spans = []
    for pattern, alias, zh in METHOD_PATTERNS:
        for m in pattern.finditer(heading):
            spans.append((m.start(), m.end(), alias, zh))
    spans.sort(key=lambda s: s[0] - s[1])                  # longest first
    kept = []
    for span in spans:
        if not any(span[0] < e and s < span[1] for s, e, *_ in kept):
            kept.append(span)
    problems = []
    for start, end, alias, zh in kept:
        before = heading[:start].rstrip()
        if before and HAN.match(before[-1]):
            continue
        after = heading[end:].lstrip(" (（")
        if after and HAN.match(after[0]) and not after.startswith(zh):
            problems.append((alias, re.split(r"[\s(（:：,，]", after)[0], zh))
    return problems


# -- the glossary itself --------------------------------------------------------------------

def test_the_table_is_complete_enough_and_well_formed():
    assert len(ROWS) >= 80, f"only {len(ROWS)} terms: the glossary covers every technical term"
    for row in ROWS:
        assert row.zh and all(row.english), f"line {row.line}: empty English or 中文 cell"
        assert "、" not in row.zh and " / " not in row.zh, (
            f"line {row.line}: one Chinese term per concept, got {row.zh!r}")


def test_every_method_has_a_row():
    missing = [name for name in METHODS if row_for(name) is None]
    assert not missing, f"methods without a glossary row (English cell must name them): {missing}"


def test_method_chinese_names_are_the_glossarys():                                     # (a)
    wrong = [f"{name}: name_zh {method.name_zh!r}, glossary {row_for(name).zh!r}"
             for name, method in METHODS.items()
             if row_for(name) is not None and method.name_zh != row_for(name).zh]
    assert not wrong, "registry.py name_zh differs from docs/glossary.md:\n" + "\n".join(wrong)


def test_no_chinese_term_stands_for_two_concepts():                                   # (c)
    seen: dict[str, int] = {}
    for row in ROWS:
        assert row.zh not in seen, (
            f"{row.zh!r} is the Chinese term of line {seen[row.zh]} and of line {row.line}")
        seen[row.zh] = row.line
    english = [name.casefold() for row in ROWS for name in row.english]
    doubled = sorted({name for name in english if english.count(name) > 1})
    assert not doubled, f"English names listed in two rows: {doubled}"
    clashes = [(row.line, term) for row in ROWS for term in row.avoid if term in ZH_TERMS]
    assert not clashes, f"terms both avoided and used (line, term): {clashes}"


# -- notebook headings ----------------------------------------------------------------------

def test_there_are_notebooks_to_check():
    assert ENGLISH_NOTEBOOKS, "notebooks/*.ipynb not found"


def test_headings_use_no_avoided_term():                                              # (b)
    problems = [f"{path.relative_to(REPO_ROOT)}: {heading!r}: {term} → {zh}"
                for path in ENGLISH_NOTEBOOKS + CHINESE_NOTEBOOKS for heading in headings(path)
                for term, zh in avoided_terms_in(heading)]
    assert not problems, "headings use terms the glossary rejects:\n" + "\n".join(problems)


def test_headings_give_methods_their_glossary_names():                                # (b)
    problems = [f"{path.relative_to(REPO_ROOT)}: {heading!r}: {alias} {found} → {alias} {zh}"
                for path in ENGLISH_NOTEBOOKS for heading in headings(path)
                for alias, found, zh in misnamed_methods_in(heading)]
    assert not problems, "method names in headings differ from the glossary:\n" + "\n".join(
        problems)


# -- the checks above catch what they should (these hold today) -----------------------------

def test_avoided_term_check_catches_rejected_terms_and_spares_the_right_ones():
    assert avoided_terms_in("## 6. Sanity checks 合理性检验") == [("合理性检验", "健全性检查")]
    assert avoided_terms_in("## 6. Sanity checks 健全性检查") == []
    # a glossary term inside a longer rejected one is still caught ...
    assert ("导向梯度加权类激活映射", "导向 Grad-CAM") in avoided_terms_in(
        "# 03 · Guided Grad-CAM 导向梯度加权类激活映射")
    # ... a rejected term inside a longer glossary term is not
    assert avoided_terms_in("# 05 · LIME 局部可解释模型无关解释") == []
    assert avoided_terms_in("| LIME 局部可解释模型 and CamLIME") == [
        ("局部可解释模型", "局部可解释模型无关解释")]


def test_method_name_check_reads_headings_the_way_they_are_written():
    assert misnamed_methods_in("## 1. Saliency 显著图") == [("Saliency", "显著图", "梯度显著图")]
    assert misnamed_methods_in("## 3. Integrated Gradients 积分梯度") == []
    assert misnamed_methods_in("## 5. Grad-CAM is CAM on this network 与 CAM 的关系") == []
    # the longest name wins: this is Guided Grad-CAM, not Grad-CAM
    assert misnamed_methods_in("# 03 · Guided Grad-CAM 导向梯度加权类激活映射 (x)") == [
        ("Guided Grad-CAM", "导向梯度加权类激活映射", "导向 Grad-CAM")]
    assert misnamed_methods_in("# 03 · Guided Grad-CAM 导向 Grad-CAM (x)") == []
    assert misnamed_methods_in("## 6. CamLIME") == []           # LIME inside CamLIME is no match
    assert misnamed_methods_in("## 4. Explaining with `lime` 使用 lime 库") == []


def test_headings_are_read_from_markdown_only(tmp_path):
    notebook = {"cells": [
        {"cell_type": "markdown", "source": ["# 01 · Title 标题\n", "text\n", "```\n",
                                              "# not a heading\n", "```\n", "## 2. Next 下一节"]},
        {"cell_type": "code", "source": "# a comment 合理性检验\n"}]}
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    assert headings(path) == ["# 01 · Title 标题", "## 2. Next 下一节"]
