"""Student copies of the notebooks, generated: ``python tools/make_exercises.py [--check]``.

The notebooks in ``notebooks/`` are the only authored copy. Their exercises follow nbgrader's
conventions: the answer sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` in a cell
marked ``nbgrader.solution``; the graded check cell after it (``nbgrader.grade``, locked) calls
a public checker from :mod:`xai_helpers.exercises` and holds extra checks between
``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``. A teacher can put the notebooks into
an nbgrader course as they are.

Without nbgrader, this module writes ``exercises/NN_name.ipynb`` for every notebook (and
``exercises/zh/NN_name.ipynb`` for the Chinese edition in ``notebooks/zh/``): each
solution replaced by ``# YOUR CODE HERE`` and ``raise NotImplementedError()`` (at the
solution's indentation), hidden tests removed, outputs cleared. ``--check`` only compares and
fails when the committed copies have drifted from the notebooks (the test suite runs it).
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parents[1]

__all__ = ["student_source", "student_notebook", "write_exercises", "write_all", "NOTEBOOKS_DIR",
           "EXERCISES_DIR", "EDITIONS"]

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
EXERCISES_DIR = REPO_ROOT / "exercises"
#: Each edition's notebooks and where its student copies go.
EDITIONS = {"en": (NOTEBOOKS_DIR, EXERCISES_DIR),
            "zh": (NOTEBOOKS_DIR / "zh", EXERCISES_DIR / "zh")}
_SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*$",
                       re.DOTALL | re.MULTILINE)
_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n.*?^[ \t]*### END HIDDEN TESTS[^\n]*"
                     r"(\n|$)", re.DOTALL | re.MULTILINE)


def student_source(source: str) -> str:
    """A cell's source with solutions stubbed out and hidden tests removed.

    Example:
        >>> print(student_source("def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n"
        ...                      "    ### END SOLUTION"))
        def f():
            # YOUR CODE HERE
            raise NotImplementedError()
    """
    stubbed = _SOLUTION.sub(lambda m: f"{m.group(1)}# YOUR CODE HERE\n"
                                      f"{m.group(1)}raise NotImplementedError()", source)
    return _HIDDEN.sub("", stubbed).rstrip("\n")


def student_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student copy of one notebook (a new object; outputs cleared)."""
    student = copy.deepcopy(notebook)
    for cell in student.cells:
        if cell.cell_type == "code":
            cell.source = student_source(cell.source)
            cell.outputs = []
            cell.execution_count = None
    return student


def write_exercises(check: bool = False, notebooks: Path = NOTEBOOKS_DIR,
                    exercises: Path = EXERCISES_DIR) -> list[str]:
    """Write (or, with ``check``, compare) every student copy; returns the names that changed.

    Files in ``exercises/`` that no notebook produces are reported too, never deleted.
    """
    changed = []
    expected_names = set()
    for path in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
        expected_names.add(path.name)
        text = nbformat.writes(student_notebook(nbformat.read(path, as_version=4))) + "\n"
        target = exercises / path.name
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            changed.append(path.name)
            if not check:
                exercises.mkdir(exist_ok=True)
                target.write_text(text, encoding="utf-8")
    if exercises.exists():
        changed += [f"{p.name} (no notebook makes it)" for p in sorted(exercises.glob("*.ipynb"))
                    if p.name not in expected_names]
    return changed


def write_all(check: bool = False) -> list[str]:
    """:func:`write_exercises` for every edition in :data:`EDITIONS` that exists."""
    changed = []
    for edition, (notebooks, exercises) in EDITIONS.items():
        if notebooks.is_dir():
            prefix = "" if edition == "en" else f"{edition}/"
            changed += [prefix + name for name in write_exercises(check, notebooks, exercises)]
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/make_exercises.py",
                                     description="Generate the student copies in exercises/.")
    parser.add_argument("--check", action="store_true",
                        help="do not write; fail if exercises/ differs from the notebooks")
    args = parser.parse_args(argv)
    changed = write_all(check=args.check)
    if args.check and changed:
        print("exercises/ is out of date with notebooks/: " + ", ".join(changed)
              + "\nRun: python tools/make_exercises.py", file=sys.stderr)
        return 1
    print("exercises/ is up to date" if not changed else "wrote " + ", ".join(changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
