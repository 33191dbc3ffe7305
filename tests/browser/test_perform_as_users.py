"""The "Write as Lever user" field's list of Lever users in a real browser (Debian's chromium):
read when the field is first focused, offered in a datalist, and the note names the user the field
holds (``tests/web/test_perform_as_users.py`` tests the page and the list's endpoint)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_layout import LAPTOP, serving, signed_in_page
from tests.web import test_integration_next_step as next_step

GOOD_KEY = next_step.GOOD_KEY
lever_sandbox, lever = next_step.lever_sandbox, next_step.lever  # the fixtures, shared
pytestmark = pytest.mark.browser


def test_in_the_browser_the_field_offers_the_users_and_names_the_chosen_one(lever, browser):
    app, client, form = lever
    # "Write as Lever user" is a setting the connection test depends on: saved, then tested
    assert client.post("/integrations/lever/settings", data={**form, "api_key": GOOD_KEY, "perform_as": "user-admin"}
                       ).status_code == 302
    assert client.post("/integrations/lever/test").status_code == 302
    assert next_step._status(app, "lever")[0] == "connected"
    with serving(app) as url:
        page = signed_in_page(browser, url, next_step.OWNER, LAPTOP)
        try:
            page.goto(url + "/integrations/lever")
            note = page.locator("#setting-perform_as-users")
            expect(note).to_have_text("")  # nothing read before the field is used
            page.focus("#setting-perform_as")
            expect(note).to_have_text("Pick one of the 4 users listed as you type (a name or an email finds them); "
                                      "now: Ada Admin <ada.admin@example.com>.")
            options = page.locator("#setting-perform_as-suggestions option")
            expect(options).to_have_count(4)
            assert page.locator("#setting-perform_as").get_attribute("list") == "setting-perform_as-suggestions"
            page.fill("#setting-perform_as", "user-team-member")
            expect(note).to_contain_text("now: Tom Team <tom.team@example.com>.")
            page.fill("#setting-perform_as", "someone-else")  # typing: no verdict on a half-typed value
            expect(note).to_have_text("Pick one of the 4 users listed as you type (a name or an email finds them).")
            page.locator("#setting-perform_as").press("Tab")  # left: now it is said
            expect(note).to_contain_text("now: an id not among them.")
            # a name typed instead of picked is saved as the id of the one user it matches
            page.fill("#setting-perform_as", "Tom Te")
            with page.expect_navigation():
                page.click("#save-settings")
            expect(page.locator(".alert--success")).to_contain_text("Lever settings saved.")
            with app.app_context():
                from hub.runtime import get_runtime

                assert get_runtime().integration(1, "lever").settings["perform_as"] == "user-team-member"
        finally:
            page.context.close()
