"""End to end in a real browser: JupyterLab 4 + ipywidgets, driven by Playwright in Debian's
headless Chromium (no browser download). Notebooks: 10 (the explorer) and 02 (the CAM explorer
with class and layer controls).

The test copies two notebooks to a temporary folder (so nothing in the repository is written),
starts JupyterLab from this venv on 127.0.0.1 with a random port and token, runs all cells
through the Run menu, waits for the widgets, moves the class and the layer through the real
controls and checks that the heatmap picture changed and no cell failed. Screenshots go to
``artifacts/browser/`` (not committed). ``make browser`` (part of ``make test``) installs
Chromium with apt; without it the test is skipped with the reason — except under CI
(``CI=true``), where a missing browser is a failure: the test must never be silently absent.

It waits on state, never on time: the kernel's status, every prompt numbered, and after each
change the explorer's status line naming the new class or layer and a new picture. Timeouts
are only upper bounds, sized for a busy 2-core machine.

Offline: JupyterLab and its kernels inherit the network guard (``tests/network_guard``);
Chromium's resolver maps every host but 127.0.0.1 to "not found" and the page aborts any
request that is not for the local server.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from headless import offline_chromium, require_chromium

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
NOTEBOOKS = ["02_grad_cam_internals.ipynb", "10_explorer.ipynb"]
RUN_TIMEOUT_MS = 480_000          # Run All of a notebook on a loaded machine
CHANGE_TIMEOUT_MS = 240_000       # one control change to its new picture, loaded machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a random port with a random token; always stopped at the end."""
    require_chromium("the browser test")
    folder = tmp_path_factory.mktemp("lab")
    for name in NOTEBOOKS:
        shutil.copy(ROOT / "notebooks" / name, folder / name)
    port, token = _free_port(), secrets.token_hex(16)
    log = open(folder / "jupyter.log", "w")
    env = {**os.environ, "XAI_FAST": "1", "JUPYTER_CONFIG_DIR": str(folder / "config")}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                raise RuntimeError("JupyterLab did not start:\n"
                                   + (folder / "jupyter.log").read_text()[-3000:])
            time.sleep(0.3)
        yield base, token
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)               # the server and its kernels
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def browser(lab):
    with offline_chromium("the browser test") as chromium:
        yield chromium


def _open_and_run_all(browser, lab, name: str):
    base, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(CHANGE_TIMEOUT_MS)
    page.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    # a workspace of its own, reset: no tabs or selection restored from an earlier page
    page.goto(f"{base}/lab/workspaces/{Path(name).stem}/tree/{name}?reset&token={token}")
    page.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for()
    # the kernel has started and connected (the status bar says so); before that, Run All
    # is silently ignored
    page.get_by_text(re.compile(r"\| Idle$")).first.wait_for(timeout=120_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    try:                                                      # it may finish before we look
        page.locator(".jp-Notebook-ExecutionIndicator:not([data-status='idle'])").first.wait_for(
            timeout=10_000)
    except Exception:
        pass
    # done when the kernel is idle again, nothing is queued ("[*]") and either every code
    # cell has run (numbered prompt) or a cell failed (Run All stops there; reported below)
    page.wait_for_function(
        r"""() => {
            const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                .map(p => p.textContent);
            const failed = [...document.querySelectorAll('.jp-OutputArea-output')]
                .some(o => o.textContent.includes('Traceback'));
            return indicator && indicator.dataset.status === 'idle' && prompts.length > 0
                && !prompts.some(t => t.includes('*'))
                && (failed || prompts.every(t => /\[\d+\]/.test(t)));
        }""", timeout=RUN_TIMEOUT_MS)
    outputs = page.locator(".jp-OutputArea-output").evaluate_all(
        "elements => elements.map(e => e.textContent)")
    errors = [text for text in outputs if "Traceback" in text]
    assert not errors, f"{name}: a cell failed:\n" + "\n---\n".join(errors)[:3000]
    return page


def _src(image) -> str:
    return image.evaluate("element => element.src")


def _wait_for_new_picture(page, image, old: str, status_contains: str) -> str:
    """Wait until the explorer says it drew ``status_contains`` (its status line names the
    method, layer and class of the picture it drew last) and the picture is a new one. A slow
    method asks for Run instead of drawing: press it."""
    status = page.locator(".widget-label", has_text=re.compile("press Run"))
    deadline = time.monotonic() + CHANGE_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        if status.count():
            page.get_by_role("button", name="Run").click()
        try:
            page.wait_for_function(
                """([element, old, wanted]) => element.src && element.src !== old &&
                    [...document.querySelectorAll('.widget-label')].some(
                        label => label.textContent.includes(wanted))""",
                arg=[image.element_handle(), old, status_contains], timeout=10_000)
            return _src(image)
        except Exception:                              # not yet: look for "press Run" again
            continue
    raise AssertionError(f"no new picture showing {status_contains!r} within "
                         f"{CHANGE_TIMEOUT_MS / 1000:.0f} s")


def _selected_class(select) -> str:
    """The selected class's name: "tabby (16.8%)" -> "tabby" (ipywidgets writes its option
    labels with non-breaking spaces)."""
    text = select.evaluate("element => element.options[element.selectedIndex].text")
    return text.replace("\xa0", " ").rsplit(" (", 1)[0]


def _move_layer_slider(page) -> str:
    """One step left on the layer slider, through its keyboard handle (what a mouse drag also
    triggers); returns the new layer's name once the slider shows it."""
    from playwright.sync_api import expect

    slider = page.locator(".widget-hslider:has(label:text-is('Layer'))").first
    readout = slider.locator(".widget-readout").first
    before = readout.inner_text().strip()
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    handle.press("ArrowLeft")
    expect(readout).not_to_have_text(before, timeout=CHANGE_TIMEOUT_MS)
    return readout.inner_text().strip()


def _dropdown(page, label: str):
    return page.locator(f".widget-dropdown:has(label:text-is('{label}')) select").first


def test_explorer_notebook_widgets_respond_in_jupyterlab(browser, lab):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    page = _open_and_run_all(browser, lab, "10_explorer.ipynb")
    picture = page.locator("img.widget-image").first
    picture.wait_for(state="visible")
    page.wait_for_function("element => element.src && element.naturalWidth > 0",
                           arg=picture.element_handle())
    panel = page.locator(".widget-vbox:has(img.widget-image)").first
    panel.screenshot(path=str(ARTIFACTS / "10_explorer_initial.png"))

    # the class, through the real dropdown
    before = _src(picture)
    classes = _dropdown(page, "Class")
    changed = time.perf_counter()
    classes.select_option(index=2)
    after_class = _wait_for_new_picture(page, picture, before, _selected_class(classes))
    print(f"explorer: class change -> new picture in the browser "
          f"{(time.perf_counter() - changed) * 1000:.0f} ms")
    panel.screenshot(path=str(ARTIFACTS / "10_explorer_class_changed.png"))

    # the layer, through the slider's keyboard handle (what a mouse drag also triggers)
    changed = time.perf_counter()
    layer = _move_layer_slider(page)
    after_layer = _wait_for_new_picture(page, picture, after_class, layer)
    print(f"explorer: layer change -> new picture in the browser "
          f"{(time.perf_counter() - changed) * 1000:.0f} ms")
    panel.screenshot(path=str(ARTIFACTS / "10_explorer_layer_changed.png"))
    assert len({before, after_class, after_layer}) == 3
    status = page.locator(".widget-label").all_inner_texts()
    assert not any("cannot run" in text for text in status), status
    page.screenshot(path=str(ARTIFACTS / "10_explorer_page.png"), full_page=False)
    page.close()
    print(f"explorer notebook in the browser: {time.perf_counter() - start:.0f} s")


def test_cam_notebook_class_and_layer_sliders_respond(browser, lab):
    """Notebook 02's CAM explorer: the class dropdown and the layer slider, in the browser."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = _open_and_run_all(browser, lab, "02_grad_cam_internals.ipynb")
    picture = page.locator("img.widget-image").first
    picture.scroll_into_view_if_needed()
    page.wait_for_function("element => element.src && element.naturalWidth > 0",
                           arg=picture.element_handle())
    before = _src(picture)
    classes = _dropdown(page, "Class")
    classes.select_option(index=1)
    after_class = _wait_for_new_picture(page, picture, before, _selected_class(classes))
    layer = _move_layer_slider(page)
    _wait_for_new_picture(page, picture, after_class, layer)
    page.locator(".widget-vbox:has(img.widget-image)").first.screenshot(
        path=str(ARTIFACTS / "02_cam_explorer_class_and_layer_changed.png"))
    page.close()
