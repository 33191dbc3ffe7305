"""Disabling an integration in a browser, with and without JavaScript: "Disable…" on its page
leads to a confirmation that says what disabling does now, and only its "Disable <plugin>" button
disables; "Keep it enabled" goes back without changing anything."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_layout import LAPTOP, served  # noqa: F401 (served: the seeded web-test app, served)
from tests.web.support import PASSWORD

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
def test_disable_asks_first_then_disables(browser, served, shots, javascript):
    url, seeded = served
    context = browser.new_context(viewport=LAPTOP, java_script_enabled=javascript)
    page = context.new_page()
    try:
        page.goto(url + "/sign-in")
        page.fill("#email", seeded.email("super_admin"))
        page.fill("#password", PASSWORD)
        page.click("#sign-in-submit")
        page.goto(url + "/integrations/fakeassess")
        expect(page.locator("#enabled-state")).to_have_attribute("data-status", "done")

        page.click("#disable-fakeassess")
        expect(page).to_have_url(url + "/integrations/fakeassess/disable")
        expect(page.locator("h1")).to_have_text("Disable Fake Tests?")
        expect(page.locator("#disable-consequences li").first).to_contain_text("attachments on Pipeline stop inviting")
        shots.take(page, "confirmation")
        page.click("#disable-cancel")  # changes nothing
        expect(page.locator("#enabled-state")).to_have_attribute("data-status", "done")

        page.click("#disable-fakeassess")
        page.click("#disable-confirm")
        expect(page).to_have_url(url + "/integrations/fakeassess")
        expect(page.locator("#flashes")).to_contain_text("Fake Tests is disabled: no new work goes to it")
        expect(page.locator("#enabled-state")).to_have_attribute("data-status", "disabled")
        shots.take(page, "disabled")
    finally:
        context.close()
