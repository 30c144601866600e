"""A free CJK font for Chinese class names in plots and on images, never tofu boxes (□□□).

matplotlib's default font (DejaVu Sans) has no Chinese glyphs. The workbook ships Google's
Noto Sans CJK (SIL Open Font License) through the PyPI package ``noto-cjk-sans-otc`` and
registers its simplified-Chinese face ("Noto Sans CJK SC") as a *fallback*: Latin text keeps
DejaVu Sans, Chinese characters come from Noto. If the font is missing, labels fall back to
English with a warning that says how to install it.

Taught in ``notebooks/00_setup_and_tour.ipynb``.
"""
from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

from matplotlib import font_manager
from matplotlib import pyplot as plt
from PIL import ImageFont

from .config import language

__all__ = ["CJK_FAMILY", "cjk_font_path", "use_cjk_font", "resolve_lang", "pil_font"]

CJK_FAMILY = "Noto Sans CJK SC"
_SC_FACE = 2  # index of the simplified-Chinese face inside NotoSansCJK-Regular.ttc
_MISSING = ("The Chinese font is not installed (PyPI package noto-cjk-sans-otc), so labels "
            "are shown in English. Install it with `pip install noto-cjk-sans-otc` or run "
            "`make lab`, then restart the kernel.")


def cjk_font_path() -> Path | None:
    """Path of the bundled Noto Sans CJK font file, or ``None`` if it is not installed."""
    try:
        import noto_cjk_sans_otc
    except ImportError:
        return None
    path = Path(noto_cjk_sans_otc.FONT_PATH)
    return path if path.exists() else None


@lru_cache(maxsize=1)
def use_cjk_font() -> bool:
    """Let matplotlib draw Chinese: register Noto Sans CJK SC as a fallback font (once).

    Returns:
        ``True`` if the font is available, ``False`` (with a warning) if not.

    Example:
        >>> use_cjk_font()
        True
        >>> plt.rcParams["font.family"][:2]
        ['DejaVu Sans', 'Noto Sans CJK SC']
    """
    path = cjk_font_path()
    if path is None:
        warnings.warn(_MISSING, stacklevel=2)
        return False
    font_manager.fontManager.addfont(str(path))
    plt.rcParams["font.family"] = ["DejaVu Sans", CJK_FAMILY]  # per-glyph fallback
    return True


def resolve_lang(lang: str | None = None) -> str:
    """``lang`` (``None``: the workbook's language, see :func:`~xai_helpers.set_language`), or
    ``"en"`` (with a warning) when Chinese is asked for without the font."""
    lang = language(lang)
    if lang == "zh" and not use_cjk_font():
        return "en"
    return lang


@lru_cache(maxsize=16)
def pil_font(size: int = 16) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A PIL font that draws Latin and Chinese text (PIL's built-in font if Noto is missing).

    Example:
        >>> pil_font(20).getname()
        ('Noto Sans CJK SC', 'Regular')
    """
    path = cjk_font_path()
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(str(path), size, index=_SC_FACE)
