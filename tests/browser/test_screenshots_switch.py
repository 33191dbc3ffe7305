"""The browser tests' screenshots are taken only when ``HUB_TEST_SCREENSHOTS`` asks for them."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Screenshots, screenshots_wanted

pytestmark = pytest.mark.browser


class _Page:
    def __init__(self):
        self.saved = []

    def screenshot(self, path, full_page):
        self.saved.append((path, full_page))


@pytest.mark.parametrize("value, wanted", [("", False), ("0", False), (" 0 ", False), ("1", True), ("yes", True)])
def test_the_variable_switches_them_on(monkeypatch, value, wanted):
    monkeypatch.setenv("HUB_TEST_SCREENSHOTS", value)
    assert screenshots_wanted() is wanted
    monkeypatch.delenv("HUB_TEST_SCREENSHOTS")
    assert screenshots_wanted() is False


def test_only_an_enabled_one_saves_full_pages_numbered_in_order(tmp_path):
    page = _Page()
    off = Screenshots("walk", tmp_path / "off", enabled=False)
    assert off.take(page, "Sign in") is None and page.saved == [] and not (tmp_path / "off").exists()
    on = Screenshots("walk", tmp_path / "on")
    first, second = on.take(page, "Sign in"), on.take(page, "/integrations/lever")
    assert [first.name, second.name] == ["walk-01-sign-in.png", "walk-02-integrations-lever.png"]
    assert page.saved == [(str(first), True), (str(second), True)]


def test_a_failure_s_picture_is_taken_even_when_they_are_off(tmp_path):
    page = _Page()
    off = Screenshots("walk", tmp_path / "off", enabled=False)
    assert off.take(page, "Sign in") is None
    failed = off.take(page, "FAILED", always=True)
    assert failed.name == "walk-02-failed.png" and page.saved == [(str(failed), True)]
