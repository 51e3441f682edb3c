"""What both browser suites share (loaded as a plugin by tests/conftest.py): Debian's
Chromium driven by Playwright, the page's own libraries, and skips that fail under
CI=true (a browser test that did not run must not look like a pass)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LIBRARY_CSS = REPO / "web" / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk" / "nhsuk-frontend.min.css"
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"


def missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright is not installed: .venv/bin/pip install playwright (uses the system Chromium)")
    if not Path(CHROMIUM).is_file():
        missing(f"Chromium is not installed at {CHROMIUM}: apt-get install -y chromium")
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception as exc:
        pw.stop()
        missing(f"Chromium at {CHROMIUM} could not be started: {exc}")
    try:
        yield chromium
    finally:
        chromium.close()
        pw.stop()


class Watched:
    """A page plus what it did: dialogs opened (and dismissed), console errors (CSP
    violations too) and every URL it requested."""

    def __init__(self, page: Any):
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("dialog", self._dialog)
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()
