"""The pages task's rough edges, in a real browser (Debian's chromium) on the seeded web-test app
(``tests/web/test_pages_polish.py`` checks the same pages' HTML):

* a 403 is a page one can leave by keyboard the way one came, or to a page the role can use;
* a link that opens a new tab shows a mark, which its accessible name leaves out;
* the Dashboard's refused-webhook sentence is a line of its own under the item it belongs to;
* without container queries (Safari before 16, Firefox before 110) the tables still stack on a phone
  and below a 1094 px window, and are tables on a desktop: simulated by serving the stylesheet
  without its container queries and with its fallback switched on;
* the keyboard and screen reader walk: the menu is the banner landmark, the skip link leads into
  the page.
"""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_layout import PHONE, serving, signed_in_page
from tests.web.support import FakeAssess, FakeSource, seed

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}


@contextlib.contextmanager
def serving_refusals(make_app):
    """The seeded web-test app with one webhook of Fake Tests refused (its assessments invite nobody:
    "Needs attention" names it), served; yields ``(url, seed)``."""
    from hub.extensions import db
    from hub.store.models import WebhookLog, utcnow

    app = make_app(plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    seeded = seed(app)
    with app.app_context():
        db.session.add(WebhookLog(workspace_id=seeded.workspace_id, plugin="fakeassess", outcome="rejected",
                                  status_code=401, message="signature does not match", received_at=utcnow()))
        db.session.commit()
    with serving(app) as url:
        yield url, seeded


@pytest.fixture
def served(make_app):
    with serving_refusals(make_app) as served:
        yield served


def test_a_403_is_left_by_keyboard_the_way_one_came(browser, served, shots):
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("team_member"), DESKTOP)
    try:
        page.goto(url + "/candidates?status=failed")
        answer = page.goto(url + "/settings/api-tokens", referer=url + "/candidates?status=failed")
        assert answer.status == 403
        shots.take(page, "403 page")
        expect(page.locator("#error-may-not")).to_have_text("A Team Member may not create, list or revoke API tokens.")
        # by name: a Team Member may not see the users' emails
        expect(page.locator("#error-people")).to_contain_text("Super Admin")
        expect(page.locator("#error-people")).not_to_contain_text("super_admin@acme.test")
        page.get_by_role("link", name="Skip to content").focus()
        page.keyboard.press("Enter")  # into the page, past the menu
        for _ in range(12):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.id") == "error-go-back":
                break
        expect(page.locator("#error-go-back")).to_be_focused()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url == url + "/candidates?status=failed"
    finally:
        page.context.close()


def test_the_new_tab_mark_shows_and_is_not_read_and_the_refusal_is_its_own_line(browser, served, shots):
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), DESKTOP)
    try:
        page.goto(f"{url}/candidates/{seeded.ids['invitation']}")
        profile = page.locator("#profile-link")
        mark = profile.evaluate("a => getComputedStyle(a, '::after').content")
        assert "\u2197" in mark, mark
        # its accessible name: the words, not the mark
        expect(page.get_by_role("link", name="Profile in the ATS (opens in a new tab)", exact=True)).to_have_count(1)
        expect(page.get_by_role("link", name="Assessment report (opens Fake Tests in a new tab)", exact=True)
               ).to_have_count(1)

        page.goto(url + "/")
        item, refused = page.locator("#idle-fakeassess"), page.locator("#refused-fakeassess")
        expect(refused).to_contain_text("1 webhook from Fake Tests was refused")
        refused.scroll_into_view_if_needed()
        shots.take(page, "dashboard refused")
        above, below = item.bounding_box(), refused.bounding_box()
        assert below["y"] >= above["y"] + above["height"] - 0.5, (above, below)  # below it, not on its last line
        assert abs(below["x"] - above["x"]) < 1, (above, below)  # and starting at the left, as a line of its own
    finally:
        page.context.close()


def _without_container_queries(css: str) -> str:
    """``css`` as a browser without container queries applies it: the ``@container`` blocks gone,
    the ``@supports not (container-type: inline-size)`` fallback in force."""
    from tests.web.test_pages_polish import NO_CONTAINER_QUERIES, css_block

    for header in re.findall(r"@container [^{]+", css):
        header = header.strip()
        if header + " {" in css:
            css = css.replace(header + " {" + css_block(css, header) + "}", "")
    assert "@container" not in css and NO_CONTAINER_QUERIES in css
    return css.replace(NO_CONTAINER_QUERIES, "@supports (display: block)")


TABLE_DISPLAY = "id => getComputedStyle(document.getElementById(id)).display"
PAGE_WIDTH = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.parametrize("viewport, display", [(PHONE, "block"), ({"width": 1000, "height": 900}, "block"),
                                               (DESKTOP, "table")], ids=["phone", "1000", "1280"])
def test_without_container_queries_the_tables_stack_on_narrow_windows(browser, served, shots, viewport, display):
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), viewport)
    try:
        css = page.request.get(url + "/assets/hub.css").text()
        page.route("**/assets/hub.css", lambda route: route.fulfill(
            status=200, content_type="text/css", body=_without_container_queries(css)))
        for path, table in (("/candidates", "candidates-table"), ("/audit", "audit-table"), ("/users", "users-table")):
            page.goto(url + path)
            shots.take(page, path)
            assert page.evaluate(TABLE_DISPLAY, table) == display, (path, viewport)
            assert page.evaluate(PAGE_WIDTH), f"{path}: the page scrolls sideways"
            if display == "block":  # each cell under its column's name
                label = page.evaluate(f"() => getComputedStyle(document.querySelector('#{table} tbody td[data-label]'), '::before').content")
                assert label not in ("none", "normal"), label
    finally:
        page.context.close()


def test_the_menu_is_the_banner_and_the_skip_link_leads_into_the_page(browser, served, shots):
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("admin"), PHONE)
    try:
        page.goto(url + "/activity")
        expect(page.get_by_role("banner")).to_have_count(1)
        expect(page.get_by_role("complementary")).to_have_count(0)
        expect(page.get_by_role("banner").get_by_role("navigation", name="Main")).to_have_count(1)
        # each event is an article named by its heading; its payload says whose
        first = page.locator("article.event").first
        event_id = first.get_attribute("id").removeprefix("event-")
        expect(page.get_by_role("article", name=re.compile(r"^Stage change"))).not_to_have_count(0)
        expect(first.locator(".payload summary")).to_have_accessible_name(f"Payload of event {event_id}")
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("main")).to_be_focused()
        page.keyboard.press("Tab")  # the first control of the page, not the menu's
        assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")
        shots.take(page, "activity after the skip link")
    finally:
        page.context.close()
