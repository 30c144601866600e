"""Debian's Chromium, headless and offline, as both browser tests launch it: the JupyterLab
test (``tests/widgets/test_browser.py``) and the book's (``tests/publishing/test_book.py``).

``make browser`` installs it where it can (Debian apt, root). Where it cannot, the tests skip
and say why — except under CI, where a missing browser is a failure. Every host name but
127.0.0.1 resolves to nothing, so a page that reaches for the internet fails visibly.
"""
from __future__ import annotations

import contextlib
import os
import shutil

import pytest

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-domain-reliability",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def require_chromium(what: str) -> str:
    """Chromium's path, or skip (fail under CI) saying that ``what`` cannot run here."""
    path = chromium_path()
    if path is None:
        reason = ("Chromium is not installed and `make browser` could not install it "
                  f"(needs Debian apt and root): {what} cannot run here.")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason + " Under CI this is a failure, not a skip.")
        pytest.skip(reason)
    pytest.importorskip("playwright", reason="playwright is not installed: run `make setup`")
    return path


@contextlib.contextmanager
def offline_chromium(what: str):
    """A launched headless Chromium (Playwright), closed at the end."""
    path = require_chromium(what)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, headless=True, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
