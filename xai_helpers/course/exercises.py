"""Checkers for the coding exercises, one module per notebook (``nbNN_*.py``).

The notebooks import them as ``from xai_helpers.exercises import check_...``. Each checker runs
the learner's code on inputs it makes itself, compares with the package's implementation and,
when they differ, names the usual mistake (a missing ReLU, a forgotten normalisation, a sum
instead of a mean, a flipped sign …) without showing the answer.

Every checker in a notebook module's ``__all__`` is collected here, so a new checker needs no
change to this file.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from .feedback import ExerciseError

#: The notebook modules, in notebook order (``nb00_setup``, ``nb01_cam`` …).
NOTEBOOK_MODULES = tuple(
    importlib.import_module(f"{__package__}.{info.name}")
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name)
    if info.name.startswith("nb") and info.name[2:4].isdigit())

__all__ = ["ExerciseError"]
for _module in NOTEBOOK_MODULES:
    for _name in _module.__all__:
        if _name in ("QUESTIONS", "WRONG_SOLUTIONS"):
            continue
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)

#: Realistic wrong solutions per graded solution cell (``grade_id`` → cell sources): each
#: checker must reject them; the nbgrader round trip grades them.
WRONG_SOLUTIONS: dict[str, list[str]] = {
    grade_id: list(sources) for module in NOTEBOOK_MODULES
    for grade_id, sources in getattr(module, "WRONG_SOLUTIONS", {}).items()}
