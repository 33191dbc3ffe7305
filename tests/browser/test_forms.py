"""The admin UI's forms in a real browser (Debian's chromium), on the web tests' seeded app served
from a thread (``tests/browser/test_layout.served``): found walking every form with the keyboard and
with long values.

* After a rejected submit the keyboard focus is on what went wrong: the error summary where the page
  has one (the attach form, ``test_enhancements``), otherwise the first field marked invalid, so
  Tab-and-type users fix it without hunting (the focus used to stay on the page's body).
* Names and emails typed by people can be one long word (an email may have 320 characters, a token
  name 200): they wrap, rather than widening the page or pushing a table's buttons out of sight.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_layout import LAPTOP, OVERFLOW, PHONE, served, signed_in_page  # noqa: F401 (fixture)
from tests.web.test_long_emails import LONG_EMAIL

pytestmark = pytest.mark.browser

ACTIVE_ID = "() => document.activeElement && document.activeElement.id"


def submit_and_wait(page, selector: str, status: int = 422) -> None:
    with page.expect_response(lambda r: r.request.method == "POST" and r.request.resource_type == "document") as answer:
        page.locator(selector).press("Enter")
    assert answer.value.status == status
    page.wait_for_load_state()


@pytest.mark.parametrize("path, fill, submit, first_invalid", [
    ("/account/password", {"#current-password": "not my password", "#new-password": "short"}, "#new-password",
     "current-password"),
    ("/account/password", {"#current-password": "", "#new-password": "a long enough password"}, "#new-password",
     "current-password"),
    ("/users", {"#new-email": "not-an-email"}, "#new-email", "new-email"),
    ("/settings/api-tokens", {"#token-name": ""}, "#token-name", "token-name"),
    ("/integrations/fakesource", {"#setting-max_rate": "500"}, "#setting-max_rate", "setting-max_rate"),
], ids=["password-wrong", "password-empty", "user", "token", "settings"])
def test_a_rejected_form_puts_the_focus_on_its_first_invalid_field(browser, served, shots, path, fill, submit,
                                                                   first_invalid):
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), LAPTOP)
    try:
        page.goto(url + path)
        for selector, value in fill.items():
            page.fill(selector, value)
        submit_and_wait(page, submit)  # Enter in a field submits the form
        shots.take(page, f"{path} rejected")
        invalid = page.locator("form [aria-invalid=true]")
        expect(invalid.first).to_have_id(first_invalid)
        assert page.evaluate(ACTIVE_ID) == first_invalid
        described = page.locator(f"#{first_invalid}").get_attribute("aria-describedby") or ""
        assert f"{first_invalid}-error" in described.split()  # the message is read with the field
    finally:
        page.context.close()


def right_edges(page, selector: str) -> list[float]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.getBoundingClientRect().right)")


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_long_emails_and_token_names_wrap_instead_of_widening_the_page(browser, served, shots, viewport):
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), viewport)
    try:
        page.goto(url + "/users")
        page.fill("#new-email", LONG_EMAIL)
        submit_and_wait(page, "#new-email", status=303)  # post/redirect/get
        expect(page.locator("#user-created")).to_be_visible()
        page.goto(url + "/settings/api-tokens")
        page.fill("#token-name", "n" * 200)
        page.select_option("#token-user", label=f"{LONG_EMAIL} (Team Member)")
        submit_and_wait(page, "#token-name", status=303)
        token_id = page.locator("#tokens-table tbody tr").first.get_attribute("id").split("-")[-1]
        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_navigation():
            page.click(f"#revoke-token-{token_id}")
        expect(page.locator(".alert--success")).to_contain_text("is revoked")  # the flash names the long token
        for path in ("/settings/api-tokens", "/users"):
            if path != "/settings/api-tokens":
                page.goto(url + path)
            shots.take(page, f"long values {path}")
            widths = page.evaluate(OVERFLOW)
            assert widths["page"] <= widths["window"], f"{path} is {widths['page']} px wide: {widths['out']}"
            assert not widths["out"], f"{path}: past the right edge: {widths['out']}"
        if viewport is LAPTOP:  # room for every column: each row's buttons show without scrolling the table
            buttons = right_edges(page, "#users-table td.actions button")
            assert buttons and max(buttons) <= viewport["width"], buttons
            page.goto(url + "/settings/api-tokens")
            buttons = right_edges(page, "#tokens-table tbody button")
            assert buttons and max(buttons) <= viewport["width"], buttons
    finally:
        page.context.close()
