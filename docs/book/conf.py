"""Sphinx configuration of the workbook's book. Build it with ``make book`` (``tools/book.py``),
which executes the notebooks (jupyter-cache) and stages them with the landing page; this file
only renders: myst-nb reads the executed notebooks (``nb_execution_mode = "off"``) and
sphinx-book-theme lays them out.

Nothing on a page comes from the internet: MathJax 3 is copied into the book from the PyPI
package ``django-static-mathjax`` (only the parts a page loads), widget JavaScript is never
added (``tools/book.py`` turns widgets into the picture they showed), and the Chinese text is
set in a subset of Noto Sans CJK SC (the font the workbook already installs) holding exactly the
characters the pages use.
"""
from __future__ import annotations

import re
import shutil
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

HERE = Path(__file__).resolve().parent

project = "XAI Workbook"
author = "the XAI Workbook authors"
copyright = "the XAI Workbook authors; code under the MIT licence"
language = "en"
root_doc = "index"
extensions = ["myst_nb"]
exclude_patterns = ["**.ipynb_checkpoints"]

# MyST: $…$ and $$…$$ math as in JupyterLab, ::: directives on the landing page, anchors for
# links to a section of another notebook ([text](02_grad_cam_internals.ipynb#some-heading))
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# myst-nb renders what tools/book.py executed; it executes nothing itself
nb_execution_mode = "off"
nb_ipywidgets_js: dict = {}       # no widget JavaScript from a CDN: widgets are pictures
nb_merge_streams = True

html_theme = "sphinx_book_theme"
html_title = "XAI Workbook"
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "search_bar_text": "Search the workbook…",
}
html_static_path = [str(HERE / "_static")]
html_css_files = ["book.css"]
html_copy_source = False          # the executed notebooks would double the book's size
html_show_sourcelink = False
html_last_updated_fmt = None

# MathJax from the book itself (see _copy_mathjax), never from a CDN
mathjax_path = "mathjax/tex-chtml.js"

# --- MathJax, served locally ---------------------------------------------------------------

#: The parts of MathJax 3's es5 build that tex-chtml.js loads: itself, its fonts, the TeX
#: extensions it loads on demand, the accessibility and menu components.
MATHJAX_PARTS = ["tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "a11y",
                 "ui", "sre"]


def mathjax_source() -> Path:
    """MathJax's es5 folder inside the installed django-static-mathjax package."""
    spec = find_spec("mathjax")
    folder = Path(spec.origin).parent / "static" / "mathjax" / "es5" if spec else None
    if folder is None or not (folder / "tex-chtml.js").exists():
        raise RuntimeError("MathJax is not installed (PyPI package django-static-mathjax): run "
                           "`make setup`")
    return folder


def _copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source, target = mathjax_source(), Path(app.outdir) / "_static" / "mathjax"
    stamp = target / "VERSION"
    wanted = f"django-static-mathjax {metadata.version('django-static-mathjax')} {MATHJAX_PARTS}"
    if stamp.exists() and stamp.read_text() == wanted:
        return
    shutil.rmtree(target, ignore_errors=True)
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part)
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / part, target / part)
    licence = source.parent / "LICENSE"
    shutil.copy2(licence, target / "LICENSE")
    stamp.write_text(wanted)


# --- the Chinese font: a subset of Noto Sans CJK SC ------------------------------------------

#: Code points set in the CJK font (the same ranges as ``unicode-range`` in _static/book.css).
CJK = re.compile("[\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
                 "\uff00-\uffef]")
CJK_FAMILY = "Noto Sans CJK SC"


def _cjk_font(app, exception) -> None:
    """Write _static/xai-cjk.woff: Noto Sans CJK SC with exactly the CJK characters that the
    pages use (a few hundred kB instead of 19 MB), and its licence (SIL OFL 1.1) beside it."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir) / "_static"
    chars = set()
    for page in Path(app.outdir).rglob("*.html"):
        chars.update(CJK.findall(page.read_text(encoding="utf-8")))
    target, stamp = out / "xai-cjk.woff", out / "xai-cjk.chars"
    key = "".join(sorted(chars))
    if target.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == key:
        return
    import noto_cjk_sans_otc
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    collection = TTCollection(noto_cjk_sans_otc.FONT_PATH)
    fonts = [f for f in collection.fonts if f["name"].getDebugName(1) == CJK_FAMILY]
    if not fonts:
        raise RuntimeError(f"{noto_cjk_sans_otc.FONT_PATH} has no {CJK_FAMILY} face")
    font = fonts[0]
    options = subset.Options()
    options.flavor = "woff"
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(map(ord, chars)) or [0x4E2D])
    subsetter.subset(font)
    font.flavor = "woff"
    font.save(str(target))
    licence = next(f for f in metadata.files("noto-cjk-sans-otc") if f.name == "LICENSE")
    (out / "xai-cjk-LICENSE.txt").write_text(licence.read_text(encoding="utf-8"),
                                              encoding="utf-8")
    stamp.write_text(key, encoding="utf-8")


def setup(app):
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _cjk_font)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
