"""Fixtures for the browser tests: Debian's chromium driven by Playwright (never a downloaded
browser), and, with ``HUB_TEST_SCREENSHOTS=1``, full-page screenshots of every page visited,
saved under ``test-artifacts/screenshots/`` (gitignored) for a person to look through. Taking
them is off by default: they cost about 40 % of the browser tests' time, and no test reads them."""

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


def screenshots_wanted() -> bool:
    """Whether ``HUB_TEST_SCREENSHOTS`` asks for the screenshots (set, and not ``0``)."""
    return os.environ.get("HUB_TEST_SCREENSHOTS", "").strip() not in ("", "0")


class Screenshots:
    """``shots.take(page, "sign-in")`` saves ``<prefix>-NN-sign-in.png``, numbered in visiting order,
    when ``enabled``; otherwise it takes none (and returns None)."""

    def __init__(self, prefix: str, folder: Path = SCREENSHOTS, enabled: bool = True):
        self.prefix = prefix
        self.folder = folder
        self.count = 0
        self.enabled = enabled
        if enabled:
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob(f"{prefix}-*.png"):  # a previous run's pictures of this test
                old.unlink(missing_ok=True)

    def take(self, page, step: str, always: bool = False) -> Path | None:
        """``always``: also when not ``enabled`` (the picture of a failure)."""
        self.count += 1
        if not (self.enabled or always):
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.prefix}-{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request):
    return Screenshots(re.sub(r"^test_", "", request.node.name), enabled=screenshots_wanted())


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
