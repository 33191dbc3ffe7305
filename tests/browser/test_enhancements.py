"""The progressive enhancements of ``hub/web/static/hub.js`` in a real browser (Debian's chromium,
Playwright), against the hub and the Lever and Canditech sandboxes on loopback. The workspace is
connected in the test process (``hub.demo.connect_workspace``, as ``hub demo`` does: the stack
shares the database), so each test starts where the browser work begins:

* busy forms: a slow vendor call (the Lever sandbox's ``latency_ms`` fault) leaves the submit
  button disabled, labelled with ``data-busy-label`` and the form ``aria-busy`` while it runs; a
  second submit is blocked (one request reaches the hub, one call reaches Lever); the back button
  brings the page back idle, and so does hub.js when a page comes back from the back/forward cache
  (its "pageshow" event, sent by the test: signed-in pages are no-store, so chromium never
  restores them from that cache);
* the error summary of a rejected attach form takes the keyboard focus, and links to the fields;
* the Candidates list and a candidate's page refresh themselves (``?fragment=1``): an invitation made
  behind the page's back (a recruiter moves Alice in the Lever sandbox) appears without a reload,
  and a completed assessment shows on the open detail page. Playwright's clock drives the page's
  timers, so the 20 s (idle) and 4 s (work pending) intervals are checked without waiting for them.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from playwright.sync_api import Page, expect

from hub.demo import connect_workspace
from hub.runtime import get_runtime
from tests.browser.stack import PASSWORD, SUPER_ADMIN, log_tails, start_browser_stack

pytestmark = pytest.mark.browser

LATENCY_MS = 2000  # the slow vendor call: long enough to look at the busy button


@pytest.fixture
def connected(make_app, tmp_path):
    """A stack whose workspace is connected to both sandboxes, with "Python Developer" attached to
    "Canditech Stage" of "Backend Engineer"."""
    stack = start_browser_stack(make_app, tmp_path)
    try:
        with stack.app.app_context():
            connect_workspace(get_runtime(stack.app), 1, stack.sandbox_urls, actor="browser test")
        yield stack
    finally:
        stack.stop()


def api(url: str, method: str = "GET", **kwargs) -> dict:
    answer = requests.request(method, url, timeout=10, **kwargs)
    answer.raise_for_status()
    return answer.json()


def sign_in(page: Page, hub: str, next_path: str = "/") -> None:
    page.goto(f"{hub}/sign-in?next={next_path}")
    page.fill("#email", SUPER_ADMIN)
    page.fill("#password", PASSWORD)
    page.click("#sign-in-submit")
    expect(page.locator("#current-user")).to_be_visible()


def lever_users_calls(lever: str) -> int:
    return api(lever + "/_sandbox/stats").get("requests_by_path", {}).get("/v1/users", 0)


# --------------------------------------------------------------------------- busy forms


# While a form's answer is awaited, the browser runs no script from outside (Playwright's and CDP's
# evaluations wait for the navigation), so the page records what happens to the form itself, in
# sessionStorage (it outlives the page): every change of the form, the submit events with whether
# they were let through, and one more submit once the button is disabled (the double submit).
RECORD_BUSY = """id => {
    const form = document.getElementById(id), button = form.querySelector("button[type=submit]");
    const log = [];
    let again = false;
    const record = what => {
        log.push({what, disabled: button.disabled, label: button.textContent.trim(),
                  ariaDisabled: button.getAttribute("aria-disabled"), ariaBusy: form.getAttribute("aria-busy")});
        sessionStorage.setItem("busy-log", JSON.stringify(log));
    };
    new MutationObserver(() => {
        record("changed");
        if (button.disabled && !again) {
            again = true;
            form.requestSubmit();  // Enter in a field, a script, a double click that beat the disabling
            setTimeout(() => record("still busy"), 300);
        }
    }).observe(form, {attributes: true, childList: true, subtree: true, characterData: true});
    window.addEventListener("submit", event => record(event.defaultPrevented ? "submit blocked" : "submit sent"));
}"""


def test_a_busy_form_says_so_and_is_sent_once(connected, new_page, shots):
    hub, lever = connected.hub_url, connected.url("lever")
    page = new_page()
    try:
        sign_in(page, hub, "/integrations/lever")
        button, form = page.locator("#test-connection"), page.locator("#test-form")
        expect(button).to_be_enabled()
        idle_label = button.inner_text()
        assert idle_label == "Test connection", idle_label
        page.evaluate(RECORD_BUSY, "test-form")
        posts = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        calls = lever_users_calls(lever)

        api(lever + "/_sandbox/faults", "POST", json={"latency_ms": LATENCY_MS})
        try:
            button.click(no_wait_after=True)
            expect(page.locator("#flashes .alert--success", has_text="Lever is connected")).to_be_visible()
        finally:
            api(lever + "/_sandbox/faults", "DELETE")
        log = page.evaluate("JSON.parse(sessionStorage.getItem('busy-log') || '[]')")
        whats = [entry["what"] for entry in log]
        assert whats.count("submit sent") == 1, log
        assert "submit blocked" in whats and "still busy" in whats, log  # the second submit, 300 ms on
        busy = {"disabled": True, "label": "Testing…", "ariaDisabled": "true", "ariaBusy": "true"}
        assert {**log[whats.index("submit blocked")], "what": None} == {**busy, "what": None}, log
        assert {**log[whats.index("still busy")], "what": None} == {**busy, "what": None}, log
        assert posts == [hub + "/integrations/lever/test"], posts  # one request reached the hub...
        assert lever_users_calls(lever) == calls + 1  # ...and one call reached Lever
        expect(button).to_be_enabled()  # the answer is a new page
        shots.take(page, "test-connection-done")

        # the back button brings the page back idle. Signed-in pages are no-store (and Playwright's
        # chromium has no back/forward cache), so the browser fetches it again...
        page.go_back()
        expect(button).to_be_enabled()
        expect(button).to_have_text(idle_label)
        expect(form).not_to_have_attribute("aria-busy", "true")
        # ...but a browser that restores the page from its back/forward cache shows it as it was left,
        # busy: hub.js resets it on the "pageshow" event that says so. The page is made busy by a
        # submit that a later listener cancels (no navigation), then sent that event.
        page.evaluate("window.addEventListener('submit', event => event.preventDefault(), {once: true})")
        button.click()
        expect(button).to_have_js_property("disabled", True)
        expect(button).to_have_text("Testing…")
        expect(form).to_have_attribute("aria-busy", "true")
        page.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
        expect(button).to_be_enabled()
        expect(button).to_have_text(idle_label)
        expect(button).not_to_have_attribute("aria-disabled", "true")
        expect(form).not_to_have_attribute("aria-busy", "true")
        shots.take(page, "test-connection-restored")
        assert posts == [hub + "/integrations/lever/test"], posts
    except BaseException:
        shots.take(page, "FAILED", always=True)
        print(log_tails(connected))
        raise


# --------------------------------------------------------------------------- the error summary


def test_a_rejected_attach_form_focuses_its_error_summary(connected, new_page, shots):
    hub = connected.hub_url
    page = new_page()
    try:
        sign_in(page, hub, "/pipeline/new")
        page.locator("#posting").select_option(page.locator("#posting option", has_text="Backend Engineer")
                                               .get_attribute("value"))
        page.click("#choose-posting")
        expect(page.locator("#attach-form")).to_be_visible()
        page.click("#attach-submit")  # nothing chosen
        summary = page.locator("#error-summary")
        expect(summary).to_be_visible()
        # hub.js focuses it once the page has loaded, which may come after it is visible: wait for it
        expect(summary).to_be_focused()
        shots.take(page, "attach-errors")
        links = summary.locator("a")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert "#stage" in hrefs and "#assessment" in hrefs, hrefs
        summary.locator("a[href='#stage']").click()
        expect(page.locator("#stage")).to_be_focused()
    except BaseException:
        shots.take(page, "FAILED", always=True)
        print(log_tails(connected))
        raise


# --------------------------------------------------------------------------- live lists

IDLE_MS, PENDING_MS = 20_000, 4_000  # hub.js: the polling intervals, without and with work pending
T0 = datetime(2030, 1, 7, 9, 0, tzinfo=timezone.utc)


def wait_for_fragment(page: Page, url: str, *texts: str, timeout: float = 20.0) -> None:
    """Until the hub's fragment at ``url`` (asked with the page's cookies, not by the page) holds
    every one of ``texts`` at once: the page must then show them at its next poll."""
    deadline = time.monotonic() + timeout
    while True:
        fragment = page.request.get(url + ("&" if "?" in url else "?") + "fragment=1").text()
        if all(text in fragment for text in texts):
            return
        assert time.monotonic() < deadline, f"the hub's {url} never showed all of {texts!r}: {fragment[:2000]}"
        time.sleep(0.1)


def test_a_filtered_list_keeps_refreshing_with_the_focus_on_what_it_found(connected, new_page):
    """After a filter the focus is on the result count (hub.js focusResult), inside the list: the
    list took that for a keyboard user at work in it and never refreshed again (a review found)."""
    hub, lever = connected.hub_url, connected.url("lever")
    api(lever + "/_sandbox/opportunities/opp-bob/move", "POST", json={"stage_id": "stage-canditech"})
    page = new_page()
    page.clock.install(time=T0)
    page.clock.pause_at(T0 + timedelta(seconds=1))
    sign_in(page, hub, "/candidates?posting=posting-backend-engineer")
    wait_for_fragment(page, hub + "/candidates?posting=posting-backend-engineer", "Bob")
    page.goto(hub + "/candidates?posting=posting-backend-engineer")
    count = page.locator("#candidates-count")
    expect(count).to_be_focused()
    before = count.inner_text()
    api(lever + "/_sandbox/opportunities/opp-alice/move", "POST", json={"stage_id": "stage-canditech"})
    wait_for_fragment(page, hub + "/candidates?posting=posting-backend-engineer", "Alice Anders")
    page.clock.run_for(IDLE_MS + 1000)
    expect(page.locator("#candidates-table tbody tr", has_text="Alice Anders")).to_have_count(1, timeout=5000)
    assert count.inner_text() != before  # one more invitation counted
    expect(page.locator("#candidates-count")).to_be_focused()  # the new count has the focus back


def test_the_candidates_list_and_detail_refresh_themselves(connected, new_page, shots):
    hub, lever, canditech = connected.hub_url, connected.url("lever"), connected.url("canditech")
    page = new_page()
    # the page's timers run on Playwright's clock, stopped: only run_for() moves them
    page.clock.install(time=T0)
    page.clock.pause_at(T0 + timedelta(seconds=1))
    polls = []
    page.on("request", lambda r: polls.append(r.url) if "fragment=1" in r.url else None)

    def expect_polls(count: int) -> None:
        page.wait_for_timeout(150)  # time for a fetch the clock may have started
        assert len(polls) == count, polls

    try:
        sign_in(page, hub, "/candidates")
        expect(page.locator("#no-candidates")).to_be_visible()
        expect(page.locator("#live-indicator")).to_be_visible()  # shown by hub.js
        results = page.locator("#candidates-results")
        expect(results).to_have_attribute("data-pending", "false")
        page.evaluate("window.notReloaded = true")
        alice = page.locator("#candidates-table tbody tr", has_text="Alice Anders")

        # behind the page's back: Canditech is down (the invitation stays pending, retried), and a
        # recruiter moves Alice into "Canditech Stage" in Lever
        api(canditech + "/_sandbox/faults", "POST", json={"down": True})
        api(lever + "/_sandbox/opportunities/opp-alice/move", "POST", json={"stage_id": "stage-canditech"})
        wait_for_fragment(page, hub + "/candidates", "Alice Anders")
        page.clock.run_for(IDLE_MS - 1000)  # nothing pending when the page was made: every 20 s
        expect_polls(0)
        expect(alice).to_have_count(0)
        page.clock.run_for(1100)
        expect(alice).to_have_attribute("data-status", "pending", timeout=5000)
        expect_polls(1)
        assert page.evaluate("window.notReloaded === true")
        expect(results).to_have_attribute("data-pending", "true")
        shots.take(page, "candidates-alice-pending")

        # work is pending: every 4 s. Canditech is back: the invitation is sent and shows
        api(canditech + "/_sandbox/faults", "DELETE")
        # and nothing else is pending (the invitation can show as sent while its delivery, or one it
        # caused, is still open: the list then still polls every 4 s)
        wait_for_fragment(page, hub + "/candidates", 'data-status="invited"', 'data-pending="false"')
        page.clock.run_for(PENDING_MS - 500)
        expect_polls(1)
        page.clock.run_for(600)
        expect(alice).to_have_attribute("data-status", "invited", timeout=5000)
        expect_polls(2)
        expect(results).to_have_attribute("data-pending", "false")
        assert page.evaluate("window.notReloaded === true")
        shots.take(page, "candidates-alice-invited")

        # not while the keyboard focus is in the list, nor while the tab is hidden
        link = alice.locator("a[id^=open-invitation-]")
        link.focus()
        page.clock.run_for(IDLE_MS + 5000)
        expect_polls(2)
        page.locator("#apply-filters").focus()  # out of the list: at most 4 s later it is polled again
        page.clock.run_for(PENDING_MS + 100)
        expect_polls(3)
        page.evaluate("Object.defineProperty(document, 'hidden', {configurable: true, get: () => true})")
        page.clock.run_for(IDLE_MS + 5000)
        expect_polls(3)
        page.evaluate("delete document.hidden")  # the Document.prototype getter again: visible
        page.clock.run_for(PENDING_MS + 100)
        expect_polls(4)
        assert all("/candidates?fragment=1" in url for url in polls), polls

        # the candidate's page: Alice completes the test, her score shows without a reload
        link.click()
        expect(page.locator("#candidate-name")).to_have_text("Alice Anders")
        expect(page.locator("#invitation-status")).to_have_attribute("data-status", "invited")
        detail_url = page.url
        page.evaluate("window.notReloaded = true")
        # a busy form in the live part is not replaced by an idle one while its answer is awaited
        # (clicking disables the button, which takes the focus out of the list): the Cancel
        # form is made busy by a submit that a later listener cancels, then the clock passes a poll
        # "Cancel this invitation?" answered yes in the page itself: a dialog accepted by a Playwright
        # handler left the form idle once in CI, on a loaded machine (the confirmation's own tests
        # use the dialog)
        page.evaluate("window.confirm = () => true")
        page.evaluate("window.addEventListener('submit', event => event.preventDefault(), {once: true})")
        cancel = page.locator("#cancel-button")
        cancel.click()
        # wait (in real time) for the form hub.js marks busy, which schedules the setTimeout(0)
        expect(page.locator("form:has(#cancel-button)")).to_have_attribute("aria-busy", "true")
        page.clock.run_for(1)  # hub.js disables the button in a setTimeout(0)
        expect(cancel).to_have_js_property("disabled", True)
        expect(cancel).to_have_text("Cancelling…")
        seen = len(polls)
        page.clock.run_for(IDLE_MS + 100)
        expect_polls(seen)
        expect(cancel).to_have_js_property("disabled", True)
        expect(cancel).to_have_text("Cancelling…")
        page.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
        expect(cancel).to_be_enabled()
        invitation = next(i for i in api(canditech + "/_sandbox/invitations")["data"]
                          if i["candidate"]["email"] == "alice@example.com")
        api(f"{canditech}/_sandbox/invitations/{invitation['id']}/complete", "POST", json={"score": 100})
        wait_for_fragment(page, detail_url, 'data-status="completed"')
        pending = page.locator("#candidate-detail").get_attribute("data-pending") == "true"
        page.clock.run_for((PENDING_MS if pending else IDLE_MS) + 100)
        expect(page.locator("#invitation-status")).to_have_attribute("data-status", "completed", timeout=5000)
        expect(page.locator("#invitation-score")).to_contain_text("100")
        assert page.evaluate("window.notReloaded === true")
        assert polls[-1] == detail_url + "?fragment=1", polls
        shots.take(page, "candidate-alice-completed")
    except BaseException:
        shots.take(page, "FAILED", always=True)
        print(log_tails(connected))
        raise
