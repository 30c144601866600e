"""Workbook-wide settings: fast mode, the language, seeding, where files live, and which device a
model uses.

This is the only module that reads the ``XAI_FAST`` environment variable. Notebooks write
``from xai_helpers import FAST`` and then choose sizes in plain sight, e.g.
``n_steps = 50 if not FAST else 4``.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

__all__ = ["FAST", "LANGUAGES", "REPO_ROOT", "DATA_DIR", "TEST_IMG_DIR", "seed_everything",
           "device_of", "language", "set_language"]

#: True when the environment variable ``XAI_FAST`` is set to 1/true/yes (the tests set it).
FAST: bool = os.environ.get("XAI_FAST", "0").strip().lower() in {"1", "true", "yes", "on"}

#: The languages of labels, plot titles, widgets, exercise feedback and quizzes.
LANGUAGES = ("en", "zh")
_language = os.environ.get("XAI_LANG", "en").strip().lower() or "en"


def set_language(lang: str) -> None:
    """Choose the workbook's language: every ``lang`` argument left out (labels, plot titles,
    tables, widgets) and the exercise checkers' and quizzes' feedback follow it. The Chinese
    edition's notebooks start with ``xh.set_language("zh")``; ``XAI_LANG=zh`` does the same.

    Example:
        >>> set_language("zh"); language()
        'zh'
        >>> set_language("en")
    """
    global _language
    _language = _checked_language(lang)


def language(lang: str | None = None) -> str:
    """``lang`` if given (checked), otherwise the workbook's language (see :func:`set_language`).

    Example:
        >>> language("zh"), language()
        ('zh', 'en')
    """
    return _checked_language(_language if lang is None else lang)


def _checked_language(lang) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, not {lang!r} "
                         "(\"en\" for English, \"zh\" for Chinese).")
    return lang


#: Repository root, resolved from this file (never from the working directory: nbval runs a
#: notebook with ``notebooks/`` as its cwd, pytest runs from the root).
REPO_ROOT: Path = Path(__file__).resolve().parents[2]
DATA_DIR: Path = REPO_ROOT / "data"
TEST_IMG_DIR: Path = REPO_ROOT / "test_img"


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch so a notebook gives the same numbers on every run.

    Args:
        seed: Any integer.

    Example:
        >>> seed_everything(0); a = torch.rand(1)
        >>> seed_everything(0); b = torch.rand(1)
        >>> bool(a == b)
        True
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def device_of(model: torch.nn.Module) -> torch.device:
    """The device a model's parameters live on; move inputs there instead of calling ``.cuda()``.

    Args:
        model: Any module with at least one parameter or buffer.

    Example:
        >>> device_of(torch.nn.Linear(2, 2))
        device(type='cpu')
    """
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    raise ValueError(
        f"{type(model).__name__} has no parameters or buffers, so it has no device; "
        "pass a model with weights (or choose the device yourself)."
    )
