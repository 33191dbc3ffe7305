"""The admin UI as a keyboard-only user and a screen reader user meet it, in a real browser (Debian's
chromium), on the seeded web-test app. Each test is one kind of problem found by a walk-through:

* after an action the page reloads with what it did (a flash, a password shown once): the keyboard
  focus is on that message, not left at the top of the page with the message unread;
* a list that refreshes itself (Activity, Candidates) is not read out again whole at each refresh,
  nor replaced in silence: one short polite message says it changed, only when it did;
* every page has one h1, and its headings skip no level (a candidate the hub could not show had no
  h1 at all);
* the buttons and links of a table's rows say which row they act on (a screen reader's list of
  buttons read "Change, Change, Reset password, Reset password, Deactivate...").
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from playwright.sync_api import expect

from tests.browser.test_layout import LAPTOP, PAGES, served, signed_in_page  # noqa: F401 (served: the seeded web-test app, served)
from tests.web.support import PASSWORD

pytestmark = pytest.mark.browser

FOCUSED = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return {id: el.id, tag: el.tagName.toLowerCase(), outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
}"""


def test_after_an_action_the_focus_is_on_the_message_that_says_what_it_did(browser, served, shots):
    url, seeded = served
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    try:
        page.goto(url + "/sign-in")
        expect(page.locator("#email")).to_be_focused()  # the sign-in form's autofocus is kept
        page.keyboard.type(seeded.email("super_admin"))
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("#flashes")).to_contain_text("Signed in as")
        # it was on nothing (the body): the next Tab went to the skip link and the menu, and the
        # "Signed in" status, there when the page loaded, was never read
        expect(page.locator("#flashes")).to_be_focused()
        shots.take(page, "focus on the flash")
        focused = page.evaluate(FOCUSED)
        assert focused["outline"] != "none" and focused["width"] >= 2, focused  # and it shows
        page.keyboard.press("Tab")  # on from the message, into the page
        assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")

        # a password shown only once: on the card that shows it, the password next
        page.goto(url + "/users")
        page.focus("#new-email")
        page.keyboard.type("keyboard-user@acme.test")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("#user-created")).to_be_focused()
        shots.take(page, "focus on the shown-once password")
        page.keyboard.press("Tab")
        expect(page.locator("#generated-password")).to_be_focused()

        # a refused form still starts at its first field in error, not at the message
        page.focus("#new-email")
        page.keyboard.type("not-an-email")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("#new-email")).to_be_focused()
    finally:
        context.close()


def test_a_list_that_refreshes_itself_says_once_that_it_changed(browser, served, shots):
    """Activity's list was an aria-live region whose whole content hub.js replaced: a screen reader
    read every event again at each refresh. Candidates' list said nothing. Now neither list is a
    live region; one status message outside them says the list changed, and only when its text did
    (not when a relative time moved on)."""
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), LAPTOP)
    change = {"text": None}

    def fragment(route):
        response = route.fetch()
        body = response.text()
        if change["text"]:
            body = body.replace('id="activity-events">', 'id="activity-events"><p id="fresh">' + change["text"] + "</p>", 1)
        route.fulfill(response=response, body=body)

    try:
        page.clock.install()
        page.route(re.compile(r"fragment=1"), fragment)
        page.goto(url + "/activity")
        expect(page.locator("#activity-events article").first).to_be_visible()
        live = page.evaluate("""() => !!document.getElementById("activity-list").closest('[aria-live], [role=status], [role=alert], [role=log]')""")
        assert not live, "the whole list is a live region: each refresh is read out whole"
        announcer = page.locator("#live-announcer")
        expect(announcer).to_have_attribute("role", "status")
        assert not announcer.evaluate("el => el.closest('#activity-list')")

        with page.expect_response(re.compile(r"fragment=1")):  # nothing changed: nothing said
            page.clock.run_for(21_000)
        page.wait_for_timeout(300)
        page.clock.run_for(500)  # hub.js sets the message a moment after clearing it
        expect(announcer).to_have_text("")

        change["text"] = "A new event arrived"
        with page.expect_response(re.compile(r"fragment=1")):
            page.clock.run_for(21_000)
        expect(page.locator("#fresh")).to_be_visible()
        page.clock.run_for(500)
        expect(announcer).to_have_text("The activity list was updated.")
        shots.take(page, "activity updated")
    finally:
        page.context.close()


HEADINGS = """() => [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")]
    .filter(h => h.checkVisibility()).map(h => Number(h.tagName[1]))"""


def test_every_page_has_one_h1_and_its_headings_skip_no_level(browser, served, shots):
    """A Limited Team Member's candidate, while the postings she is on cannot be read, was a page
    without an h1: its only heading was the empty state's h3."""
    url, seeded = served
    admin = signed_in_page(browser, url, seeded.email("super_admin"), LAPTOP)
    limited = signed_in_page(browser, url, seeded.email("limited_team_member"), LAPTOP)
    candidate = f"/candidates/{seeded.ids['invitation']}"  # on p1, which she follows
    try:
        problems = []

        def check(page, path, status=200):
            assert page.goto(url + path).status == status, path
            levels = page.evaluate(HEADINGS)
            if levels[:1] != [1] or levels.count(1) != 1 or any(b > a + 1 for a, b in zip(levels, levels[1:])):
                problems.append(f"{path}: {levels}")
                shots.take(page, "headings " + path)

        for path in PAGES + [candidate]:
            check(admin, path)
        admin.goto(url + "/integrations/fakesource/disable")  # the postings cannot be read any more
        with admin.expect_navigation():
            admin.click("#disable-confirm")
        check(limited, candidate, 503)
        expect(limited.locator("#candidate-unavailable")).to_be_visible()
        assert not problems, problems
    finally:
        admin.context.close()
        limited.context.close()


# the name a screen reader gives each button and link of a table row, and what it does: where it
# leads (a link), or the form it sends (a button)
ROW_CONTROLS = """() => [...document.querySelectorAll("table tbody tr")].flatMap(tr =>
    [...tr.querySelectorAll("a[href], button")].filter(el => el.checkVisibility()).map(el => ({
        name: (el.getAttribute("aria-label") || el.textContent).replace(/\\s+/g, " ").trim(),
        target: el.tagName === "A" ? el.href : (el.form ? el.form.action : "button#" + el.id),
    })))"""


def test_each_row_s_buttons_and_links_say_which_row_they_act_on(browser, served, shots):
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), LAPTOP)
    try:
        problems = []
        for path in ["/integrations", "/pipeline", "/candidates", "/activity", "/users", "/settings/api-tokens"]:
            page.goto(url + path)
            targets = defaultdict(set)
            for control in page.evaluate(ROW_CONTROLS):
                targets[control["name"]].add(control["target"])
            assert targets, f"{path}: no row with a button or a link"
            # one name, one action: "Revoke" for two tokens, "Edit" for two attachments are two names
            same = {name: len(where) for name, where in targets.items() if len(where) > 1}
            if same:
                problems.append(f"{path}: {same}")
                shots.take(page, "row controls " + path)
        assert not problems, problems
    finally:
        page.context.close()
