"""A plugin's number settings in a real browser (Debian's chromium), on Canditech's settings form
served from a thread (as ``tests/browser/test_layout.served``, no vendor sandbox: nothing is called).

A UX review: a number input's step defaults to 1, and Chromium then holds 0.5 to be invalid (its own
"enter a valid value" tooltip). The form's Float settings carry ``step="any"``, so a decimal such as
0.5 requests per second is a value the browser accepts and the hub saves; an Integer setting keeps
step 1 (0.5 is not a whole number of requests). A Float's whole-number value shows as "10", not "10.0".
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

import plugins.canditech as canditech
from hub.extensions import db
from hub.runtime import get_runtime
from tests.browser.test_layout import LAPTOP, serving, signed_in_page
from tests.web.support import make_user

pytestmark = pytest.mark.browser

OWNER = "owner@number-inputs.test"
RATE, BURST = "#setting-rate_limit_per_second", "#setting-rate_limit_burst"
VALIDITY = "el => ({valid: el.validity.valid, stepMismatch: el.validity.stepMismatch, value: el.value})"


@pytest.fixture
def canditech_served(make_app):
    app = make_app(plugins=[("canditech", canditech)], entry_points=False)
    with app.app_context():
        make_user(1, OWNER, "super_admin")
        db.session.commit()
    with serving(app) as url:
        yield app, url


def test_a_float_setting_takes_a_decimal_and_an_integer_one_a_whole_number(browser, canditech_served, shots):
    app, url = canditech_served
    page = signed_in_page(browser, url, OWNER, LAPTOP)
    try:
        page.goto(url + "/integrations/canditech")
        expect(page.locator(RATE)).to_have_value("10")  # the default, 10.0: shown as its help says it
        page.fill(RATE, "0.5")
        assert page.locator(RATE).evaluate(VALIDITY) == {"valid": True, "stepMismatch": False, "value": "0.5"}
        page.fill(BURST, "0.5")  # requests come whole: the browser refuses half of one
        assert page.locator(BURST).evaluate(VALIDITY)["stepMismatch"] is True
        page.fill(BURST, "5")
        assert page.locator(BURST).evaluate(VALIDITY)["valid"] is True
        page.fill("#setting-api_key", "key-1")
        with page.expect_navigation():
            page.click("#save-settings")
        shots.take(page, "canditech rate saved")
        expect(page.locator(".alert--success")).to_contain_text("Canditech settings saved.")
        expect(page.locator(RATE)).to_have_value("0.5")
        with app.app_context():
            settings = get_runtime().integration(1, "canditech").settings
        assert settings["rate_limit_per_second"] == 0.5 and settings["rate_limit_burst"] == 5
    finally:
        page.context.close()


def test_a_number_the_browser_cannot_read_stops_the_save_and_names_the_field(browser, canditech_served, shots):
    """Chromium sends a number input holding "1e" (not a number) as empty, and an empty optional
    setting keeps the stored value: the save said "saved" and changed nothing. The page stops the
    submit and says which field is wrong; once it is fixed, the save goes through."""
    app, url = canditech_served
    page = signed_in_page(browser, url, OWNER, LAPTOP)
    try:
        page.goto(url + "/integrations/canditech")
        page.fill("#setting-api_key", "key-1")
        with page.expect_navigation():  # a first save, whose "saved" message stays on the page
            page.click("#save-settings")
        expect(page.locator(".alert--success")).to_contain_text("Canditech settings saved.")
        page.fill(RATE, "")
        page.locator(RATE).press_sequentially("1e")
        assert page.locator(RATE).evaluate("el => el.validity.badInput") is True
        page.click("#save-settings")
        error = page.locator("#setting-rate_limit_per_second-number-error")
        expect(error).to_have_text("Enter a number, like 10 or 0.5.")
        shots.take(page, "number not readable")
        assert page.locator(RATE).get_attribute("aria-invalid") == "true"
        assert page.evaluate("document.activeElement.id") == "setting-rate_limit_per_second"
        expect(page.locator("#field-rate_limit_per_second")).to_have_class("field field--invalid")
        assert page.locator(".alert--success").count() == 0  # the last save's "saved" is gone: nothing was saved
        with app.app_context():  # the form never reached the hub: the default from the first save stands
            assert get_runtime().integration(1, "canditech").settings["rate_limit_per_second"] == 10
        # fixed, while another field cannot be read: the first one's message and its reference go
        page.fill(RATE, "2")
        expect(error).to_have_count(0)  # a number again: its message goes as it is typed
        page.locator(BURST).fill("")
        page.locator(BURST).press_sequentially("3e")
        page.click("#save-settings")
        expect(page.locator("#setting-rate_limit_burst-number-error")).to_have_text("Enter a number (a whole number, like 10).")
        expect(error).to_have_count(0)
        described = page.locator(RATE).get_attribute("aria-describedby") or ""
        assert "number-error" not in described and page.locator(RATE).get_attribute("aria-invalid") is None
        page.fill(BURST, "20")
        with page.expect_navigation():
            page.click("#save-settings")
        expect(page.locator(".alert--success")).to_contain_text("Canditech settings saved.")
        expect(page.locator(RATE)).to_have_value("2")
        with app.app_context():
            assert get_runtime().integration(1, "canditech").settings["rate_limit_per_second"] == 2
    finally:
        page.context.close()
