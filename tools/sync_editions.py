"""Keep the Chinese edition's code in step with the English one:
``python tools/sync_editions.py [NN ...]``.

The English notebooks in ``notebooks/`` are where code is written. The Chinese edition in
``notebooks/zh/`` has the same cells in the same order, its own prose in the markdown cells and
the same code; its setup cell (tagged ``edition-specific`` in both editions) adds one line,
``xh.set_language("zh")``, so that labels, plot titles, tables, widgets, exercise feedback and
quizzes speak Chinese. ``tests/test_editions.py`` checks all of this.

This tool does the mechanical part:

- a notebook with no Chinese edition yet gets one: a copy of the English notebook with the
  setup cell tagged and the language line added (its markdown still English, to translate);
- a notebook that has one gets the English code cells and nbgrader metadata copied over, cell
  for cell; its markdown cells are never touched. If the two editions no longer have the same
  cells (a cell added or removed in one of them), nothing is written and the tool says where
  they part: add or remove the matching cell by hand, then run it again.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parents[1]
ENGLISH_DIR = REPO_ROOT / "notebooks"
CHINESE_DIR = ENGLISH_DIR / "zh"
TAG = "edition-specific"
LANGUAGE_LINE = 'xh.set_language("zh")  # 中文版：标签、图题、表格、练习反馈和小测验都用中文'

__all__ = ["chinese_setup_source", "sync", "main"]


def chinese_setup_source(source: str) -> str:
    """The English setup cell with the Chinese edition's language line after the imports.

    Example:
        >>> print(chinese_setup_source("import xai_helpers as xh\\nfrom xai_helpers import FAST"
        ...                            "\\n\\nmodel = xh.load_model()"))
        import xai_helpers as xh
        from xai_helpers import FAST
        <BLANKLINE>
        xh.set_language("zh")  # 中文版：标签、图题、表格、练习反馈和小测验都用中文
        <BLANKLINE>
        model = xh.load_model()
    """
    lines = source.splitlines()
    imports = [i for i, line in enumerate(lines)
               if line.startswith(("import xai_helpers", "from xai_helpers"))]
    if not imports:
        raise ValueError("the setup cell does not import xai_helpers")
    lines[imports[-1] + 1:imports[-1] + 1] = ["", LANGUAGE_LINE]
    return "\n".join(lines)


def _setup_index(notebook) -> int:
    return next(i for i, cell in enumerate(notebook.cells)
                if cell.cell_type == "code" and "import xai_helpers as xh" in cell.source)


def _tag(cell) -> None:
    tags = cell.metadata.setdefault("tags", [])
    if TAG not in tags:
        tags.append(TAG)


def sync(english_path: Path, chinese_dir: Path = CHINESE_DIR) -> str:
    """Create or update one notebook's Chinese edition; returns what was done."""
    english = nbformat.read(english_path, as_version=4)
    setup = _setup_index(english)
    if TAG not in english.cells[setup].metadata.get("tags", []):
        _tag(english.cells[setup])
        nbformat.write(english, english_path)
    chinese_path = chinese_dir / english_path.name
    if not chinese_path.exists():
        chinese = copy.deepcopy(english)
        chinese.cells[setup].source = chinese_setup_source(english.cells[setup].source)
        chinese_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(chinese, chinese_path)
        return f"created {chinese_path.relative_to(REPO_ROOT)} (translate its markdown cells)"
    chinese = nbformat.read(chinese_path, as_version=4)
    kinds = [c.cell_type for c in english.cells], [c.cell_type for c in chinese.cells]
    if kinds[0] != kinds[1]:
        where = next((i for i, (a, b) in enumerate(zip(*kinds)) if a != b),
                     min(map(len, kinds)))
        raise SystemExit(f"{english_path.name}: the editions part at cell {where} "
                         f"({len(kinds[0])} cells in English, {len(kinds[1])} in Chinese); "
                         "add or remove the matching cell by hand, then run this again")
    changed = 0
    for i, (en, zh) in enumerate(zip(english.cells, chinese.cells)):
        if en.cell_type != "code":
            if en.metadata.get("nbgrader") != zh.metadata.get("nbgrader"):
                zh.metadata["nbgrader"] = copy.deepcopy(en.metadata.get("nbgrader"))
                changed += 1
            continue
        source = chinese_setup_source(en.source) if i == setup else en.source
        metadata = copy.deepcopy(en.metadata)
        if (zh.source, zh.metadata) != (source, metadata):
            zh.source, zh.metadata = source, metadata
            changed += 1
    if changed:
        nbformat.write(chinese, chinese_path)
    return f"{chinese_path.relative_to(REPO_ROOT)}: {changed} cell(s) updated"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/sync_editions.py",
                                     description="Copy the English code into the Chinese "
                                                 "edition (notebooks/zh/).")
    parser.add_argument("numbers", nargs="*", help="notebook numbers, e.g. 05 06 (default: all)")
    args = parser.parse_args(argv)
    for path in sorted(ENGLISH_DIR.glob("[0-9][0-9]_*.ipynb")):
        if not args.numbers or path.name[:2] in args.numbers:
            print(sync(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
