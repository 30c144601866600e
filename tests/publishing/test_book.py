"""The book (``make book``, ``tools/book.py``) as CI builds it: fast mode, then read in a browser.

This is also where the test suite runs the notebooks. Each ``test_notebook_runs[NN]`` executes
one notebook top to bottom in a fresh kernel, in fast mode (``XAI_FAST=1``), in its own folder,
through the book's jupyter-cache (fresh for every test run, so nothing is skipped) and fails with
the cell's traceback if any cell raises: what ``pytest --nbval-lax notebooks`` did before, done
once so that the same execution also feeds the book. ``test_book_builds`` then stages and renders
(Sphinx warnings are errors), and the browser tests open the landing page and three notebook
pages in headless Chromium (Debian's, as in ``tests/widgets/test_browser.py``), offline: every
request that is not for the local server is aborted, and counted as a failure.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import posixpath
import re
import sys
import threading
from pathlib import Path

import nbformat
import pytest

import xai_helpers as xh

sys.path.insert(0, str(xh.REPO_ROOT / "tools"))
import book  # noqa: E402  (a repository tool, not package code)
from headless import offline_chromium  # noqa: E402

NOTEBOOKS = book.book_notebooks()      # all of them; XAI_BOOK_ONLY=00,07,08 for a preview
#: The pages read in the browser: the landing page; 01 (formulas, Chinese headings, figures),
#: 08 (video frames, progress bars and the webcam widget as pictures), 10 (the explorer widget
#: as its picture), and the Chinese edition's 01 (Chinese prose, labels and plot titles). In a
#: preview (XAI_BOOK_ONLY), the first three notebooks built.
WANTED = ["notebooks/01_cam_from_scratch", "notebooks/08_video_and_webcam_cam",
          "notebooks/10_explorer", "notebooks/zh/01_cam_from_scratch"]
_built = [p.relative_to(xh.REPO_ROOT).with_suffix("").as_posix() for p in NOTEBOOKS]
PAGES = ["index.html"] + [f"{name}.html" for name in (
    WANTED if set(WANTED) <= set(_built) else _built[:3])]
ARTIFACTS = xh.REPO_ROOT / "artifacts" / "book"
CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The build folder; kernels run in fast mode (set before any kernel starts)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XAI_FAST", "1")
        yield tmp_path_factory.mktemp("book")


@pytest.fixture(scope="module")
def cache(folder):
    return book.open_cache(folder / "jupyter_cache", fast=True)


#: A book built already (e.g. ``make book``'s full-mode build/book/html): the tests read it
#: instead of building one, and the notebooks are not executed (their tests are skipped).
PREBUILT = os.environ.get("XAI_BOOK_HTML")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(xh.REPO_ROOT)))
def test_notebook_runs(cache, path):
    if PREBUILT:
        pytest.skip(f"XAI_BOOK_HTML={PREBUILT}: reading that book, executing nothing")
    run = book.execute(cache, [path])[path]
    assert run.ok, f"{path.name} failed in fast mode:\n{run.traceback}"


@pytest.fixture(scope="module")
def built(folder, cache):
    if PREBUILT:
        return Path(PREBUILT).resolve()
    runs = book.execute(cache, NOTEBOOKS)          # executes only what the tests above did not
    book.stage(runs, cache, folder / "src", fast=True)
    book.render(folder / "src", folder / "html", folder / "doctrees", strict=True)
    return folder / "html"


def test_book_builds(built):
    for page in PAGES + ["search.html", "teaching.html", "build-info.html"]:
        assert (built / page).exists(), page
    for path in NOTEBOOKS:
        assert (built / path.relative_to(xh.REPO_ROOT)).with_suffix(".html").exists(), path
    mathjax = built / "_static" / "mathjax" / "tex-chtml.js"
    assert mathjax.exists() and mathjax.stat().st_size > 500_000
    font = built / "_static" / "xai-cjk.woff"
    assert 10_000 < font.stat().st_size < 3_000_000, font.stat().st_size
    pages = "\n".join(p.read_text(encoding="utf-8") for p in built.rglob("*.html"))
    assert not re.search(r"<script[^>]+src=\"https?://", pages), "a page loads a remote script"
    assert "widget-view+json" not in pages and "widget-state+json" not in pages
    assert "Traceback (most recent call last)" not in pages


def test_landing_page_maps_every_notebook(built):
    index = (built / "index.html").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        link = path.relative_to(xh.REPO_ROOT).with_suffix(".html").as_posix()
        assert f'href="{link}"' in index or f'href="{link}#' in index, f"no link to {link}"
    text = " ".join(re.sub(r"<[^>]+>", "", index).split())      # as a reader sees it
    assert "make lab" in text and "make test" in text, "the two commands are missing"
    if not PREBUILT:
        assert "fast mode" in index               # the banner: this copy is not for publishing


def test_widgets_become_pictures():
    """A saved widget state with an Image model gives that picture and a note, a progress bar
    its text; no widget output or state is left."""
    png = "iVBORw0KGgo="
    state = {
        "a": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_b", "IPY_MODEL_c"]}},
        "b": {"model_name": "ImageModel", "state": {"format": "png"},
              "buffers": [{"path": ["value"], "data": png, "encoding": "base64"}]},
        "c": {"model_name": "LabelModel", "state": {"value": "ignored beside a picture"}},
        # a progress bar (tqdm): its labels; model ids are hex, as ipywidgets makes them
        "d": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_e", "IPY_MODEL_f0",
                                                                "IPY_MODEL_f1"]}},
        "e": {"model_name": "HTMLModel", "state": {"value": "frames: 100%"}},
        "f0": {"model_name": "FloatProgressModel", "state": {"value": 24.0}},
        "f1": {"model_name": "HTMLModel", "state": {"value": "24/24 [00:01&lt;00:00]"}},
    }
    view = "application/vnd.jupyter.widget-view+json"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=[
        nbformat.v4.new_output("display_data", data={view: {"model_id": "a"},
                                                     "text/plain": "VBox()"}),
        nbformat.v4.new_output("display_data", data={view: {"model_id": "d"}}),
        nbformat.v4.new_output("display_data", data={view: {"model_id": "gone"}}),
    ])])
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json":
                                    {"state": state}}
    assert book.static_widgets(notebook) == 3
    outputs = notebook.cells[0].outputs
    assert [o.output_type for o in outputs] == ["display_data"] * 2 + ["stream", "display_data"]
    assert "make lab" in outputs[0].data["text/html"]
    assert outputs[1].data == {"image/png": png}
    assert outputs[2].text == "frames: 100% 24/24 [00:01<00:00]\n"
    assert "make lab" in outputs[3].data["text/html"]       # no state: the note alone
    assert "widgets" not in notebook.metadata


def test_a_failing_notebook_stops_the_book_and_names_it(tmp_path):
    run = book.NotebookRun(NOTEBOOKS[0], traceback="ValueError: boom")
    with pytest.raises(book.BookError, match=r"00_setup_and_tour(.|\n)*ValueError: boom"):
        book.stage({NOTEBOOKS[0]: run}, cache=None, src=tmp_path, fast=True)


def test_landing_page_refuses_a_readme_without_the_notebook_map():
    readme = "# XAI Workbook\n\nIntro.\n\n## Two commands\n\nmake lab\n"
    with pytest.raises(book.BookError, match="The notebooks"):
        book.landing_page("{{INTRO}}", readme, book.EDITIONS, {}, fast=False)


def test_cache_is_emptied_when_the_helpers_change(tmp_path, monkeypatch):
    cache = book.open_cache(tmp_path / "cache", fast=True)
    (tmp_path / "cache").mkdir(exist_ok=True)
    (tmp_path / "cache" / "marker").write_text("old")
    assert book.open_cache(tmp_path / "cache", fast=True) is not None
    assert (tmp_path / "cache" / "marker").exists()              # same fingerprint: kept
    monkeypatch.setattr(book, "fingerprint", lambda fast: "changed")
    book.open_cache(tmp_path / "cache", fast=True)
    assert not (tmp_path / "cache" / "marker").exists()          # emptied
    del cache


# --- in the browser ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(built):
    """The built book over HTTP on 127.0.0.1 (a random port), as a course would host it."""
    handler = functools.partial(_QuietHandler, directory=str(built))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(site):
    with offline_chromium("the book's browser test") as chromium:
        yield chromium


def _open(browser, site, page_name):
    """Open a page; returns (page, problems) where problems collects remote requests, failed
    responses and JavaScript errors as they happen."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems = []
    page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"),
               lambda route: (problems.append(f"remote request {route.request.url}"),
                              route.abort()))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
    page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    page.goto(f"{site}/{page_name}", wait_until="load")
    return page, problems


def _cjk_fonts(page, selector) -> list[dict]:
    """The fonts Chromium really used to draw the element's text (DevTools protocol)."""
    session = page.context.new_cdp_session(page)
    session.send("DOM.enable")
    session.send("CSS.enable")
    root = session.send("DOM.getDocument")["root"]["nodeId"]
    node = session.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    assert node, f"no element {selector}"
    return session.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]


@pytest.mark.parametrize("page_name", PAGES)
def test_page_in_the_browser(browser, site, page_name):
    """Images load, math is typeset by the book's own MathJax, no traceback, Chinese text is
    drawn with the book's CJK font, nothing is fetched from the internet."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page, problems = _open(browser, site, page_name)
    page.evaluate("() => document.querySelectorAll('img').forEach(i => i.loading = 'eager')")
    page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=60_000)
    images = page.evaluate("() => [...document.images].map(i => [i.src.slice(0, 80), "
                           "i.naturalWidth])")
    broken = [src for src, width in images if width == 0]
    assert not broken, f"{page_name}: images that did not load: {broken}"

    has_math = page.evaluate("() => document.querySelectorAll('.math').length") > 0
    if has_math:
        page.wait_for_function("() => window.MathJax && MathJax.startup && "
                               "MathJax.startup.promise", timeout=30_000)
        page.evaluate("() => MathJax.startup.promise")
        typeset = page.evaluate("() => document.querySelectorAll('mjx-container').length")
        raw = page.evaluate(r"""() => [...document.querySelectorAll('.math')]
            .filter(e => !e.querySelector('mjx-container') && /\\\(|\\\[|\$/.test(e.textContent))
            .length""")
        errors = page.evaluate("() => document.querySelectorAll('mjx-merror').length")
        assert typeset > 0 and raw == 0 and errors == 0, \
            f"{page_name}: {typeset} formulas typeset, {raw} left as TeX, {errors} TeX errors"

    text = page.inner_text("body")
    assert "Traceback (most recent call last)" not in text, f"{page_name} shows a traceback"
    assert page.locator(".output.traceback, .output.error").count() == 0

    # the article's own text (the theme repeats the title in a print-only header, not drawn)
    heading = page.locator("article h1")
    selector = ("article h1" if heading.count() and CJK.search(heading.first.inner_text())
                else None)
    selector = selector or page.evaluate(r"""() => {
        const all = [...document.querySelectorAll('article p, article td, article h2, '
                                                  + 'article li')];
        const hit = all.find(e => /[\u4e00-\u9fff]/.test(e.textContent));
        if (!hit) return null;
        hit.setAttribute('data-cjk-probe', '1');
        return '[data-cjk-probe]';
    }""")
    assert selector, f"{page_name}: no Chinese text found"
    page.evaluate("() => document.fonts.ready")
    fonts = _cjk_fonts(page, selector)
    cjk = [f for f in fonts if f.get("isCustomFont") and "CJK" in f["familyName"]]
    assert cjk and cjk[0]["glyphCount"] > 0, \
        f"{page_name}: Chinese text is not drawn with the book's CJK font: {fonts}"

    page.screenshot(path=str(ARTIFACTS / (page_name.replace("/", "_") + ".png")))
    assert not problems, f"{page_name}: " + "; ".join(problems)
    page.close()


def _next_link(html_page: Path, here: str) -> str | None:
    """Where the page's "next" button points, as a path from the book's root."""
    for tag in re.findall(r"<a\b[^>]*>", html_page.read_text(encoding="utf-8")):
        if re.search(r'class="[^"]*\bright-next\b', tag):
            href = re.search(r'href="([^"#]*)', tag).group(1)
            return posixpath.normpath(posixpath.join(posixpath.dirname(here), href))
    return None


def test_search_and_links_between_notebooks(browser, site, built):
    page, problems = _open(browser, site, "search.html?q=Grad-CAM")
    page.wait_for_selector("#search-results li", timeout=60_000)
    hits = page.eval_on_selector_all("#search-results li a", "links => links.map(a => a.href)")
    expected = ("02_grad_cam_internals" if "notebooks/02_grad_cam_internals" in _built
                else "notebooks/")
    assert any(expected in h for h in hits), hits[:10]
    page.screenshot(path=str(ARTIFACTS / "search.png"))
    page.close()

    # every "next" link walks the notebooks in order, edition after edition (read from the
    # pages); the browser clicks two of them: the first, and the step into the next edition
    names = [p.relative_to(xh.REPO_ROOT).with_suffix(".html").as_posix() for p in NOTEBOOKS]
    pairs = list(zip(names, names[1:]))
    for here, there in pairs:
        assert _next_link(built / here, here) == there, (here, there)
    crossing = [pair for pair in pairs if pair[0].count("/") != pair[1].count("/")]
    page, more = _open(browser, site, names[0])
    for here, there in pairs[:1] + crossing[:1]:
        page.goto(f"{site}/{here}")
        page.locator("a.right-next").first.click()
        page.wait_for_load_state("load")
        assert page.url.split("#")[0].endswith(there), (here, page.url, there)
    assert not problems + more, problems + more
    page.close()


def test_nothing_from_the_network_in_the_theme(built):
    """The theme and extensions must not add remote stylesheets or fonts either."""
    css = "\n".join(p.read_text(encoding="utf-8", errors="replace")
                    for p in (built / "_static").rglob("*.css"))
    remote = set(re.findall(r"url\(['\"]?(https?://[^)'\"]+)", css))
    assert not remote, remote
    info = json.dumps(sorted(p.name for p in (built / "_static").iterdir()))
    assert "mathjax" in info and "xai-cjk.woff" in info
