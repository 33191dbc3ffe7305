"""Fixtures for the browser tests: Debian's chromium driven by Playwright (never a downloaded
browser), and full-page screenshots of every page visited, saved under
``test-artifacts/screenshots/`` (gitignored) as the tests' artefacts."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.support.processes import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); "
                    "scripts/test.sh does it")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Screenshots:
    """``shots.take(page, "sign-in")`` saves ``<prefix>-NN-sign-in.png``, numbered in visiting order."""

    def __init__(self, prefix: str, folder: Path = SCREENSHOTS):
        self.prefix = prefix
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(f"{prefix}-*.png"):  # a previous run's pictures of this test
            old.unlink(missing_ok=True)

    def take(self, page, step: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.prefix}-{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request):
    return Screenshots(re.sub(r"^test_", "", request.node.name))


@pytest.fixture
def new_page(browser):
    """``new_page()`` -> a page in a fresh browser context (its own cookies); closed afterwards."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
