"""The workbook as a book of executed notebooks: ``python tools/book.py [--fast]`` (``make book``).

Three steps, each done by a maintained tool of the notebook-publishing stack:

1. **Execute** every notebook of every edition with jupyter-cache (the cache behind myst-nb and
   Jupyter Book), in its own folder, as a learner runs it (``notebooks/`` is the working
   directory, so relative paths such as ``../data/cockatoo.mp4`` work). The cache is keyed on the
   notebook's code cells: a rebuild after editing one notebook executes only that one, a
   markdown-only edit executes nothing. Outputs also depend on ``xai_helpers``, ``data/``,
   ``test_img/``, the pins and the mode, so a change to any of them (a *fingerprint*) empties the
   cache. Full mode (``make book``) and fast mode (``--fast``, ``XAI_FAST=1``, what CI builds)
   keep separate caches and outputs. A notebook that raises stops the build, listing every
   failure with its traceback (nothing half-executed is published).
2. **Stage** the executed notebooks (outputs merged from the cache into the current notebook),
   a landing page made from the README (what the workbook is, the two commands, the notebook map
   with links), the teacher's guide and a page of execution times into ``BUILD/src``. Widgets
   need a live kernel: each widget output is replaced by the picture it showed when it ran (or
   its text, for progress bars) and a note saying how to use it live.
3. **Render** with Sphinx, myst-nb and sphinx-book-theme (``docs/book/conf.py``): search, math
   with MathJax served from the book itself, a subset of Noto Sans CJK for the Chinese text.
   Warnings are errors. The result, ``BUILD/html``, is a folder of static files.

Editions: one line in ``EDITIONS`` per folder of notebooks (English in ``notebooks/``, Chinese in
``notebooks/zh/``); each becomes a part of the book with the same layout of links.

Example:
    python tools/book.py              # full mode -> build/book/html (cached)
    python tools/book.py --fast       # what CI builds -> build/book-fast/html
    XAI_BOOK_ONLY=00,07 python tools/book.py --fast    # a preview of two notebooks
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import logging
import os
import platform
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = REPO_ROOT / "docs" / "book"

#: The parts of the book: (title, folder of ``NN_name.ipynb`` notebooks relative to the repo).
EDITIONS: list[tuple[str, str]] = [
    ("English", "notebooks"),
    ("中文", "notebooks/zh"),
]

#: What the executed outputs depend on besides the notebooks themselves (see ``fingerprint``).
DEPENDENCIES = ("xai_helpers", "data", "test_img", "constraints.txt")
ANSI = re.compile(r"\x1b\[[0-9;]*m")  # colours in IPython's tracebacks
CELL_TIMEOUT = 600  # seconds per cell, as the notebook tests allow
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_NOTE = ("Interactive widget: it needs a running Python kernel. Run this notebook in "
               "JupyterLab (<code>make lab</code>) to use the controls.")

__all__ = ["EDITIONS", "BookError", "NotebookRun", "selected", "book_notebooks", "fingerprint",
           "open_cache", "execute", "stage", "render", "build", "static_widgets"]


class BookError(RuntimeError):
    """The book cannot be built; the message says which notebook or file and why."""


@dataclass
class NotebookRun:
    """One notebook's execution: seconds it took (from the cache), whether this build ran it,
    and the traceback if it failed."""

    path: Path
    seconds: float | None = None
    executed_now: bool = False
    traceback: str | None = None
    cpu_seconds: float | None = None    # user + sys of the kernel, when executed now

    @property
    def ok(self) -> bool:
        return self.traceback is None


def selected() -> tuple[str, ...]:
    """The notebook numbers in ``XAI_BOOK_ONLY`` (``"00,07,08"``): a preview book of just
    those (links to the others stay plain text); empty, the default, means every notebook."""
    return tuple(n.strip() for n in os.environ.get("XAI_BOOK_ONLY", "").split(",") if n.strip())


def book_notebooks(editions=None, only=None) -> list[Path]:
    """Every notebook of the book, edition by edition, in order (only the numbers in ``only``,
    by default ``XAI_BOOK_ONLY``, when given)."""
    only = selected() if only is None else tuple(only)
    paths = []
    for _title, folder in editions or EDITIONS:
        found = sorted((REPO_ROOT / folder).glob("[0-9][0-9]_*.ipynb"))
        if not found:
            raise BookError(f"edition folder {folder}/ has no NN_name.ipynb notebooks")
        paths += [p for p in found if not only or p.name[:2] in only]
    if only and not paths:
        raise BookError(f"XAI_BOOK_ONLY={','.join(only)} names no notebook (use two-digit "
                        "numbers separated by commas, e.g. 00,07)")
    return paths


def fingerprint(fast: bool) -> str:
    """A hash of everything besides the code cells that the executed outputs depend on:
    ``xai_helpers`` (its .py files), ``data/``, ``test_img/``, ``constraints.txt``, the
    Python version and the mode. jupyter-cache keys on code cells only."""
    digest = hashlib.sha256(f"fast={fast} python={platform.python_version()}".encode())
    for name in DEPENDENCIES:
        root = REPO_ROOT / name
        files = [root] if root.is_file() else sorted(
            p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        for path in files:
            digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def open_cache(folder: Path, fast: bool):
    """The jupyter-cache in ``folder``, emptied first if the fingerprint changed."""
    from jupyter_cache import get_cache

    stamp = folder.parent / (folder.name + ".fingerprint")
    wanted = fingerprint(fast)
    cache = get_cache(str(folder))
    if folder.exists() and (not stamp.exists() or stamp.read_text() != wanted):
        print(f"book: xai_helpers, data, test images, pins or mode changed since the cache in "
              f"{folder} was made: executing every notebook again")
        cache.clear_cache()
        cache = get_cache(str(folder))
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(wanted)
    return cache


class _Collect(logging.Handler):
    """Keeps jupyter-cache's error messages (a kernel that died leaves no traceback record)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(self.format(record))


def _children_cpu() -> float:
    """User + sys seconds of the finished child processes (the kernels) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def execute(cache, paths: list[Path], timeout: int = CELL_TIMEOUT,
            log=print) -> dict[Path, NotebookRun]:
    """Execute the notebooks that the cache does not hold yet, one at a time, each in its own
    folder; returns every notebook's run (cached ones included)."""
    from jupyter_cache.executors import load_executor
    from jupyter_client.kernelspec import KernelSpecManager

    installed = KernelSpecManager().find_kernel_specs()
    for path in paths:
        kernel = nbformat.read(path, as_version=4).metadata.get("kernelspec", {}).get("name")
        if kernel not in installed:
            raise BookError(f"{path.relative_to(REPO_ROOT)} runs in the Jupyter kernel "
                            f"{kernel!r}, which is not installed: run `make setup`")
    uris = {str(p.resolve()): p for p in paths}
    for record in cache.list_project_records():
        if record.uri not in uris:
            cache.remove_nb_from_project(record.uri)
    for uri in uris:
        cache.add_nb_to_project(uri)
    logger = logging.getLogger("xai_book.jupyter_cache")
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    collect = _Collect()
    logger.handlers = [collect]
    executor = load_executor("local-serial", cache, logger=logger)
    unexecuted = {r.uri for r in cache.list_unexecuted(list(uris))}
    runs = {}
    for uri, path in uris.items():
        run = NotebookRun(path)
        if uri in unexecuted:
            name = path.relative_to(REPO_ROOT)
            log(f"book: executing {name} ...", flush=True)
            collect.messages.clear()
            before = _children_cpu()
            result = executor.run_and_cache(filter_uris=[uri], timeout=timeout)
            run.cpu_seconds = _children_cpu() - before
            run.executed_now = True
            if uri not in result.succeeded:
                record = cache.get_project_record(uri)
                run.traceback = ANSI.sub("", record.traceback or "\n".join(collect.messages)
                                         or "execution failed")
                log(f"book: {name} FAILED")
        record = cache.get_cached_project_nb(uri)
        if record is not None:
            run.seconds = float(record.data.get("execution_seconds", float("nan")))
            if run.executed_now:
                log(f"book: {path.relative_to(REPO_ROOT)} ran in {run.seconds:.1f} s "
                    f"({run.cpu_seconds:.1f} s CPU)")
        elif run.traceback is None:
            run.traceback = "not in the cache after execution"
        runs[path] = run
    return runs


# --- widgets: the picture they showed, never an error --------------------------------------

def _widget_tree(state: dict, model_id: str, seen=None) -> list[dict]:
    """The widget model ``model_id`` and every model below it (children, nested widgets)."""
    seen = set() if seen is None else seen
    if model_id in seen or model_id not in state:
        return []
    seen.add(model_id)
    model = state[model_id]
    found = [model]
    refs = re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(model.get("state", {})))
    for ref in refs:
        found += _widget_tree(state, ref, seen)
    return found


def _image_of(model: dict) -> tuple[str, str] | None:
    """(mime type, base64 data) of an ipywidgets Image model's picture, if it has one."""
    if model.get("model_name") != "ImageModel":
        return None
    fmt = model.get("state", {}).get("format", "png")
    mime = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg",
            "gif": "image/gif"}.get(fmt)
    for buffer in model.get("buffers", []):
        if buffer.get("path") == ["value"] and buffer.get("data") and mime:
            data = buffer["data"]
            if buffer.get("encoding") == "hex":
                data = base64.b64encode(bytes.fromhex(data)).decode()
            return mime, data
    return None


def _text_of(models: list[dict]) -> str:
    """The visible text of a widget without pictures (a progress bar: its labels)."""
    parts = []
    for model in models:
        value = model.get("state", {}).get("value")
        if model.get("model_name") in ("HTMLModel", "LabelModel", "HTMLMathModel") and value:
            parts.append(html.unescape(re.sub(r"<[^>]+>", "", str(value))).strip())
    return " ".join(p for p in parts if p)


def static_widgets(notebook) -> int:
    """Replace every widget output by what it showed: its pictures (with a note on how to use
    it live) or, for a widget without pictures such as a progress bar, its text. Removes the
    saved widget state, so no page loads widget JavaScript. Returns the number replaced."""
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    replaced = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                outputs.append(output)
                continue
            replaced += 1
            models = _widget_tree(state, view.get("model_id", ""))
            images = [image for image in map(_image_of, models) if image]
            if images:
                outputs.append(nbformat.v4.new_output(
                    "display_data", data={"text/html": f'<p class="xai-widget-note">'
                                                       f'{WIDGET_NOTE}</p>'}))
                outputs += [nbformat.v4.new_output("display_data", data={mime: data})
                            for mime, data in images]
            elif _text_of(models):
                outputs.append(nbformat.v4.new_output("stream", name="stdout",
                                                      text=_text_of(models) + "\n"))
            else:
                outputs.append(nbformat.v4.new_output(
                    "display_data", data={"text/html": f'<p class="xai-widget-note">'
                                                       f'{WIDGET_NOTE}</p>'}))
        cell.outputs = outputs
    notebook.metadata.pop("widgets", None)
    return replaced


# --- staging ------------------------------------------------------------------------------

def _write_if_changed(path: Path, text: str) -> None:
    """Sphinx rebuilds a page when its source's time stamp changes: keep unchanged files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _tracebacks(notebook) -> list[str]:
    """Outputs that would show a Python traceback on the page."""
    found = []
    for i, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            text = output.get("text", "") or "".join(
                str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))
            if output.get("output_type") == "error" or "Traceback (most recent call last)" in text:
                found.append(f"cell {i}")
    return found


def _readme_section(readme: str, heading: str) -> str:
    """The text under ``## heading`` up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    if not match:
        raise BookError(f"README.md has no '## {heading}' section, which the book's landing "
                        "page shows: restore it or change tools/book.py")
    return match.group(1).strip()


def landing_page(template: str, readme: str, editions, runs: dict[Path, NotebookRun],
                 fast: bool) -> str:
    """docs/book/index.md with the README's introduction, two commands and notebook map (the
    map's notebook names become links), a banner in fast mode and one table of contents per
    edition."""
    intro = readme.split("\n## ", 1)[0]
    intro = "\n".join(intro.splitlines()[1:]).strip()          # without the "# " title
    notebook_map = _readme_section(readme, "The notebooks")
    first_folder = editions[0][1]
    listed = set()

    built = {p.stem for p in runs} if runs else None

    def link(match):
        name = match.group(1)
        if not (REPO_ROOT / first_folder / f"{name}.ipynb").exists():
            return match.group(0)
        listed.add(name)
        if built is not None and name not in built:
            return match.group(0)                  # a preview without this notebook
        return f"[`{name}`]({first_folder}/{name}.ipynb)"

    notebook_map = re.sub(r"`(\d\d_[a-z0-9_]+)`", link, notebook_map)
    missing = [p.stem for p in book_notebooks(editions[:1], only=()) if p.stem not in listed]
    if missing:
        raise BookError("README.md's notebook map ('## The notebooks') does not list "
                        + ", ".join(missing) + ": add a row for each")
    notebook_map = notebook_map.replace("(docs/teaching.md)", "(teaching.md)")
    intro = intro.replace("(docs/glossary.md)", "(glossary.md)")
    notebook_map = notebook_map.replace("(docs/glossary.md)", "(glossary.md)")
    if len(editions) > 1:                 # the Chinese README's place in the book: its part
        chinese = f"{editions[1][1]}/00_setup_and_tour.ipynb"
        intro = intro.replace("(README.zh-CN.md)", f"({chinese})")
        notebook_map = notebook_map.replace("(README.zh-CN.md)", f"({chinese})")
    tocs = []
    for title, folder in editions:
        entries = "\n".join(f"{folder}/{p.stem}" for p in book_notebooks([(title, folder)])
                            if not runs or p in runs)
        tocs.append(f":::{{toctree}}\n:caption: {title}\n:maxdepth: 1\n\n{entries}\n:::")
    tocs.append(":::{toctree}\n:caption: Teaching and this book\n:maxdepth: 1\n\n"
                "teaching\nglossary\nbuild-info\n:::")
    banner = ""
    if fast:
        banner = (":::{warning}\nThis copy was built in **fast mode** (`XAI_FAST=1`, as CI "
                  "builds it): the notebooks ran with shortened settings, so numbers and "
                  "pictures differ from a learner's run. Publish the full-mode build "
                  "(`make book`).\n:::")
    if selected():
        banner += (f"\n\n:::{{note}}\nA preview of notebooks {', '.join(selected())} only "
                   f"(`XAI_BOOK_ONLY`).\n:::")
    text = template
    for key, value in {"INTRO": intro, "TWO_COMMANDS": _readme_section(readme, "Two commands"),
                       "NOTEBOOK_MAP": notebook_map, "FAST_BANNER": banner,
                       "TOCTREES": "\n\n".join(tocs)}.items():
        if "{{" + key + "}}" not in text:
            raise BookError(f"docs/book/index.md lacks the placeholder {{{{{key}}}}}")
        text = text.replace("{{" + key + "}}", value)
    return text


def build_info(runs: dict[Path, NotebookRun], fast: bool) -> str:
    """A page with each notebook's execution time and the tools that built the book."""
    from importlib.metadata import version

    rows = "\n".join(f"| [{p.stem}]({p.relative_to(REPO_ROOT).with_suffix('')}) | "
                     f"{r.seconds:.0f} |" for p, r in runs.items())
    tools = ", ".join(f"{name} {version(name)}" for name in (
        "sphinx", "myst-nb", "sphinx-book-theme", "jupyter-cache", "django-static-mathjax"))
    mode = ("fast mode (`XAI_FAST=1`, shortened settings, as CI runs)" if fast
            else "full mode (what a learner runs)")
    return (f"# About this book\n\nEvery notebook was executed top to bottom in a fresh kernel, "
            f"in {mode}, on the machine that built the book; the outputs and pictures are from "
            f"that run. Widgets show the picture they drew then: run the notebook in "
            f"JupyterLab (`make lab`) to use them.\n\n"
            f"| notebook | execution time (s) |\n|---|---:|\n{rows}\n\n"
            f"Built with {tools} (MathJax served from the book itself) by "
            f"`python tools/book.py`; see the README's *The book* section.\n")


def stage(runs: dict[Path, NotebookRun], cache, src: Path, fast: bool, editions=None) -> None:
    """Write the book's sources into ``src``: executed notebooks, landing page, teacher's
    guide, build information. Unchanged files keep their time stamps."""
    editions = editions or EDITIONS
    failed = [r for r in runs.values() if not r.ok]
    if failed:
        raise BookError("notebooks failed, so the book is not built:\n\n" + "\n\n".join(
            f"== {r.path.relative_to(REPO_ROOT)}\n{r.traceback}" for r in failed))
    wanted = set()
    for path in runs:
        notebook = nbformat.read(path, as_version=4)
        try:
            _, notebook = cache.merge_match_into_notebook(notebook)
        except KeyError:
            raise BookError(f"{path.relative_to(REPO_ROOT)} changed while the book was being "
                            "built (its code is not the code that ran): build again") from None
        static_widgets(notebook)
        bad = _tracebacks(notebook)
        if bad:
            raise BookError(f"{path.relative_to(REPO_ROOT)}: {', '.join(bad)} would show a "
                            "Python traceback in the book")
        target = src / path.relative_to(REPO_ROOT)
        wanted.add(target)
        _write_if_changed(target, nbformat.writes(notebook))
    for old in src.rglob("*.ipynb"):
        if old not in wanted:
            old.unlink()
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    template = (CONF_DIR / "index.md").read_text(encoding="utf-8")
    _write_if_changed(src / "index.md", landing_page(template, readme, editions, runs, fast))
    _write_if_changed(src / "teaching.md",
                      (REPO_ROOT / "docs" / "teaching.md").read_text(encoding="utf-8"))
    _write_if_changed(src / "glossary.md",
                      (REPO_ROOT / "docs" / "glossary.md").read_text(encoding="utf-8"))
    _write_if_changed(src / "build-info.md", build_info(runs, fast))


def render(src: Path, out: Path, doctrees: Path, strict: bool = True) -> None:
    """Sphinx (myst-nb, sphinx-book-theme) from ``src`` into ``out``, in a subprocess."""
    # a preview (XAI_BOOK_ONLY) lacks the other notebooks, so links to them cannot resolve
    preview = ["-D", "suppress_warnings=myst.xref_missing"] if selected() else []
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(CONF_DIR), "-d",
               str(doctrees), "-q", *(["-W", "--keep-going"] if strict else []), *preview,
               str(src), str(out)]
    finished = subprocess.run(command, cwd=REPO_ROOT)
    if finished.returncode:
        raise BookError(f"sphinx-build failed (exit {finished.returncode}); its messages are "
                        "above" + (" (warnings are errors)" if strict else ""))


def build(fast: bool = False, folder: Path | None = None, timeout: int = CELL_TIMEOUT,
          strict: bool = True, editions=None, log=print) -> dict[Path, NotebookRun]:
    """Execute (cached), stage and render the book into ``folder/html``."""
    folder = Path(folder or REPO_ROOT / "build" / ("book-fast" if fast else "book")).resolve()
    if fast:
        os.environ["XAI_FAST"] = "1"
    else:
        os.environ.pop("XAI_FAST", None)           # a learner's run: full mode
    started = time.perf_counter()
    cache = open_cache(folder / "jupyter_cache", fast)
    runs = execute(cache, book_notebooks(editions), timeout=timeout, log=log)
    executed = time.perf_counter()
    stage(runs, cache, folder / "src", fast, editions)
    render(folder / "src", folder / "html", folder / "doctrees", strict=strict)
    log(f"book: {sum(r.executed_now for r in runs.values())} of {len(runs)} notebooks executed "
        f"({executed - started:.0f} s), rendered in {time.perf_counter() - executed:.0f} s: "
        f"{folder / 'html' / 'index.html'}")
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/book.py", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast", action="store_true",
                        help="execute in fast mode (XAI_FAST=1), as CI does; default: full mode")
    parser.add_argument("--build", type=Path, default=None,
                        help="build folder (default build/book, or build/book-fast with --fast)")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT,
                        help="seconds a cell may run (default %(default)s)")
    parser.add_argument("--no-strict", action="store_true",
                        help="do not treat Sphinx warnings as errors")
    args = parser.parse_args(argv)
    try:
        build(args.fast, args.build, args.timeout, strict=not args.no_strict)
    except BookError as error:
        print(f"book: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
