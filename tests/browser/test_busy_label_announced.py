"""A busy form (hub.js setupBusy: "Testing…", "Replaying…", "Saving…") says it is busy to a screen
reader too. The submit button's text changed and it was disabled, but a focused button's new text is
not read out, and a slow vendor call (Test connection, Register webhooks) left a screen reader user
in silence until the next page came. Found by an accessibility walk; test fails before."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_layout import LAPTOP, served, signed_in_page  # noqa: F401 (served: the seeded web-test app, served)

pytestmark = pytest.mark.browser


def test_a_busy_form_s_label_is_announced(browser, served, shots):
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), LAPTOP)
    try:
        page.goto(url + "/integrations/fakesource")
        button = page.locator("#test-connection")
        announcer = page.locator("#live-announcer")
        expect(announcer).to_have_attribute("role", "status")
        expect(announcer).to_have_text("")
        # the answer never comes (a slow vendor): the form is made busy by its submit, which a later
        # listener cancels, so the page stays as it is while it waits
        page.evaluate("window.addEventListener('submit', event => event.preventDefault(), {once: true})")
        button.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#test-form")).to_have_attribute("aria-busy", "true")
        expect(button).to_have_text("Testing…")
        expect(announcer).to_have_text("Testing…")
        shots.take(page, "busy announced")
    finally:
        page.context.close()
