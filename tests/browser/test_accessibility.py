"""The admin UI as a keyboard-only user and a screen reader user meet it, in a real browser (Debian's
chromium), on the seeded web-test app. Each test is one kind of problem found by a walk-through:

* after an action the page reloads with what it did (a flash, a password shown once): the keyboard
  focus is on that message, not left at the top of the page with the message unread;
* a list that refreshes itself (Activity, Candidates) is not read out again whole at each refresh,
  nor replaced in silence: one short polite message says it changed, only when it did;
* every page has one h1, and its headings skip no level (a candidate the hub could not show had no
  h1 at all);
* the buttons and links of a table's rows say which row they act on (a screen reader's list of
  buttons read "Change, Change, Reset password, Reset password, Deactivate...");
* after a list's filters (or the attach form's "Show stages") the focus is on what they found, not
  at the top of the page;
* a form that marks required fields with * says what the mark means;
* the Copy button says when the clipboard refused, not only when it worked.
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


ON_NOTHING = "() => document.activeElement === document.body || document.activeElement === null"


def apply(page, button):
    """Send a GET form from the keyboard: Enter on its submit button."""
    page.focus(button)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_after_a_filter_or_show_stages_the_focus_is_on_what_the_form_found(browser, served, shots):
    """A filter form (Candidates, Activity, Audit log) and the attach form's first step ("Show
    stages") reload the page: the focus was left at the top of it, and a keyboard user tabbed through
    the whole menu and the form again to reach the results (or the second step, some 15 Tabs down).
    Now it is on the result count (or the empty state that says nothing matched), and on the second
    step's first field; a page visited plainly keeps it where the browser leaves it."""
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), LAPTOP)
    try:
        page.goto(url + "/candidates")
        assert page.evaluate(ON_NOTHING), "a plain visit took the focus"
        page.select_option("#filter-status", "completed")
        apply(page, "#apply-filters")
        assert page.evaluate("() => document.getElementById('candidates-list').contains(document.activeElement)"), \
            page.evaluate(FOCUSED)  # it was on nothing: the next Tab went to the skip link, then the menu
        count = page.locator("#candidates-count")
        expect(count).to_be_focused()
        expect(count).to_have_text("1 invitation matches these filters.")
        shots.take(page, "candidates filtered")
        focused = page.evaluate(FOCUSED)
        assert focused["outline"] != "none" and focused["width"] >= 2, focused  # and it shows
        page.keyboard.press("Tab")  # on from the count, into the results
        expect(page.locator(f"#open-invitation-{seeded.ids['invitation']}")).to_be_focused()

        page.fill("#search", "nobody is called this")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.locator("#no-candidates-result")).to_be_focused()  # nothing matched: what says so
        assert page.evaluate("() => document.activeElement.contains(document.getElementById('no-candidates'))")

        page.goto(url + "/activity")
        assert page.evaluate(ON_NOTHING), "a plain visit took the focus"
        page.select_option("#filter-delivery-status", "dead")
        apply(page, "#apply-activity-filters")
        expect(page.locator("#activity-count")).to_be_focused()
        expect(page.locator("#activity-count")).to_contain_text("match these filters")

        page.goto(url + "/audit")
        assert page.evaluate(ON_NOTHING), "a plain visit took the focus"
        page.select_option("#filter-action", index=1)
        apply(page, "#audit-filters button[type=submit]")
        expect(page.locator("#audit-count")).to_be_focused()

        page.goto(url + "/pipeline/new")
        assert page.evaluate(ON_NOTHING), "a plain visit took the focus"
        page.select_option("#posting", "p1")
        apply(page, "#choose-posting")
        expect(page.locator("#stage")).to_be_focused()
        shots.take(page, "show stages")
        page.keyboard.press("Tab")
        expect(page.locator("#assessment")).to_be_focused()
        page.keyboard.press("Shift+Tab")  # the field is still in the Tab order
        expect(page.locator("#stage")).to_be_focused()
    finally:
        page.context.close()


# every form that marks a field with the required mark: its note, and what a screen reader reads of it
REQUIRED_NOTES = """() => [...document.querySelectorAll("form")].filter(f => f.querySelector("label .required")).map(f => {
    const notes = [...f.querySelectorAll(".required-note")];
    const first = f.querySelector("label .required");
    return {form: f.id, notes: notes.length, first: notes.length > 0
        && !!(notes[0].compareDocumentPosition(first) & Node.DOCUMENT_POSITION_FOLLOWING)};
})"""


# an element's text as it shows (the visually hidden words, for screen readers, left out)
SHOWN = """el => { const copy = el.cloneNode(true);
    copy.querySelectorAll(".visually-hidden").forEach(hidden => hidden.remove());
    return copy.textContent.replace(/\\s+/g, " ").trim(); }"""


def test_a_form_that_marks_required_fields_says_what_the_mark_means(browser, served, shots):
    """The red * after a label was explained nowhere. A form that uses it says, once and before its
    first field, what it means, in words a screen reader reads (not "star")."""
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), LAPTOP)
    try:
        problems = []
        seen = set()
        for path in ["/users", "/settings/api-tokens", "/account/password", "/integrations/fakesource",
                     "/pipeline/new?posting_id=p1"]:
            page.goto(url + path)
            for form in page.evaluate(REQUIRED_NOTES):
                seen.add(form["form"])
                if form["notes"] != 1 or not form["first"]:
                    problems.append(f"{path}: {form}")
                    continue
                note = page.locator(f"#{form['form']} .required-note")
                snapshot = note.aria_snapshot()
                if "Fields marked with an asterisk are required." not in snapshot or "*" in snapshot:
                    problems.append(f"{path}: {form['form']} reads {snapshot!r}")
                shown = note.evaluate(SHOWN)
                if shown != "Fields marked * are required.":
                    problems.append(f"{path}: {form['form']} shows {shown!r}")
            if problems:
                shots.take(page, "required " + path)
        assert seen == {"user-form", "token-form", "password-form", "settings-form", "attach-form"}, seen
        assert not problems, problems
    finally:
        page.context.close()


# the clipboard, as the page sees it: refusing (window.refuseCopy = "reject"), absent with the old
# command failing ("missing"), or working (what was copied is kept in window.copied)
CLIPBOARD = """(() => {
    const writeText = (text) => window.refuseCopy === "reject"
        ? Promise.reject(new DOMException("Write permission denied.", "NotAllowedError"))
        : Promise.resolve().then(() => { window.copied = text; });
    Object.defineProperty(Navigator.prototype, "clipboard", {configurable: true,
        get: () => window.refuseCopy === "missing" ? undefined : {writeText}});
    const command = Document.prototype.execCommand;
    Document.prototype.execCommand = function (name, ...rest) {
        return window.refuseCopy === "missing" && name === "copy" ? false : command.call(this, name, ...rest);
    };
})();"""


def test_the_copy_button_says_when_the_clipboard_refuses(browser, served, shots):
    """The Copy button next to a webhook URL, a token or a password shown once said "Copied" when it
    worked, and nothing at all when the browser refused (no clipboard, a permission denied): the
    user believed it was copied. Now it says it could not, where it says "Copied", and selects the
    text to copy by hand."""
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), LAPTOP)
    try:
        page.context.add_init_script(CLIPBOARD)
        page.goto(url + "/integrations/fakesource")
        button = page.locator("#copy-webhook-url")
        announcer = page.locator("#live-announcer")
        value = page.locator("#webhook-url").input_value()

        button.click()  # working: as before
        expect(button).to_have_text("Copied")
        expect(announcer).to_have_text("Copied to the clipboard.")
        assert page.evaluate("() => window.copied") == value
        expect(button).to_have_text("Copy")

        for refusal in ("reject", "missing"):
            page.evaluate("(how) => { window.refuseCopy = how; window.getSelection().removeAllRanges(); }", refusal)
            button.click()
            expect(button).to_have_text("Not copied")
            expect(announcer).to_have_text("Could not copy: the text is selected, copy it yourself.")
            shots.take(page, "copy refused " + refusal)
            selected = page.evaluate("""() => { const el = document.activeElement;
                return {id: el.id, start: el.selectionStart, end: el.selectionEnd, length: (el.value || "").length}; }""")
            assert selected == {"id": "webhook-url", "start": 0, "end": len(value), "length": len(value)}, (refusal, selected)
            expect(button).to_have_text("Copy")
    finally:
        page.context.close()
