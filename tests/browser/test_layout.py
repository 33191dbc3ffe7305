"""The layout of every page of the admin UI on a phone (390 px wide) and a laptop (1280 px), in a
real browser (Debian's chromium). The hub is the web tests' app (fake source and provider, the
seeded workspace of ``tests/web/support.py``: tables with rows, wide action buttons) served on a
loopback port from a thread: what is checked is only what the browser lays out, so no vendor
sandbox is needed.

* Nothing is wider than the window: a wide table scrolls inside its own card, the page itself never
  scrolls sideways (on a phone the whole page would otherwise shrink or slide).
* On a phone the menu sits above the page as a compact bar: the page's heading shows on the first
  screen, not below a full screen of menu.
"""

from __future__ import annotations

import contextlib
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.web.support import FakeAssess, FakeSource, PASSWORD, seed

pytestmark = pytest.mark.browser

PAGES = ["/", "/integrations", "/integrations/fakesource", "/pipeline", "/pipeline/new", "/candidates",
         "/activity", "/audit", "/users", "/settings/api-tokens", "/account/password"]
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 860}

# The page's width against the window's, and the elements that stick out on the right (to name them
# when the check fails).
OVERFLOW = """() => {
    const width = window.innerWidth;
    const out = [...document.querySelectorAll("body *")].filter(el => {
        const box = el.getBoundingClientRect();
        return box.width > 0 && box.right > width + 1 && !el.closest(".card--flush, .event, pre");
    }).slice(0, 5).map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + el.className);
    return {page: document.documentElement.scrollWidth, window: width, out};
}"""


@pytest.fixture
def served(make_app):
    """The seeded web-test app, served on a free loopback port; yields ``(url, seed)``."""
    app = make_app(plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    seeded = seed(app)
    with serving(app) as url:
        yield url, seeded


@contextlib.contextmanager
def serving(app):
    """``app`` served from a thread on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def signed_in_page(browser, url: str, email: str, viewport: dict):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(url + "/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#sign-in-submit")
    expect(page.locator("#current-user")).to_be_visible()
    return page


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_no_page_is_wider_than_the_window(browser, served, shots, viewport):
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), viewport)
    try:
        for path in PAGES:
            answer = page.goto(url + path)
            assert answer.status == 200, path
            shots.take(page, path)
            widths = page.evaluate(OVERFLOW)
            assert widths["page"] <= widths["window"], f"{path} is {widths['page']} px wide: {widths['out']}"
            assert not widths["out"], f"{path}: past the right edge: {widths['out']}"
    finally:
        page.context.close()


def test_on_a_phone_the_heading_shows_on_the_first_screen(browser, served, shots):
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), PHONE)  # the longest menu
    try:
        for path in ("/", "/candidates", "/pipeline"):
            page.goto(url + path)
            shots.take(page, "phone " + path)
            top = page.locator("main h1").first.bounding_box()["y"]
            assert top < PHONE["height"] / 2, f"{path}: the heading starts {top:.0f} px down, below the menu"
    finally:
        page.context.close()


def test_a_pipeline_row_s_buttons_are_one_column_of_equal_widths(browser, served, shots):
    """At 1280 px the row's Edit, Invite candidates already in stage and Detach wrapped into
    ragged lines of three widths (a walk-through)."""
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), LAPTOP)
    try:
        page.goto(url + "/pipeline")
        shots.take(page, "pipeline actions")
        row = page.locator("#attachments-table tbody tr").first
        boxes = [button.bounding_box() for button in row.locator("td.actions .btn").all()]
        assert len(boxes) >= 2, boxes  # Edit, Detach (and Invite... where the source can list a stage)
        assert len({round(box["width"]) for box in boxes}) == 1, boxes  # one width
        assert len({round(box["x"]) for box in boxes}) == 1, boxes  # one column
        assert all(upper["y"] + upper["height"] <= lower["y"] for upper, lower in zip(boxes, boxes[1:])), boxes
    finally:
        page.context.close()


STACKED_PAGES = ["/integrations", "/pipeline", "/candidates", "/audit", "/users", "/settings/api-tokens"]
CELLS_OUT_OF_SIGHT = """() => [...document.querySelectorAll("table.table--stack tbody td")].filter(td => {
    const box = td.getBoundingClientRect();
    return box.width > 0 && box.right > window.innerWidth + 1;
}).length"""


def test_on_a_phone_every_table_cell_is_in_sight(browser, served, shots):
    """The tables scrolled sideways inside their cards on a phone: a candidate's Status, Score and
    Verdict, a user's Deactivate, a row's Edit and Detach were out of sight on the right (a
    walk-through). Each row is now a block, each cell labelled with its column."""
    url, seeded = served
    page = signed_in_page(browser, url, seeded.email("super_admin"), PHONE)
    try:
        for path in STACKED_PAGES:
            page.goto(url + path)
            shots.take(page, "phone table " + path)
            assert page.locator("table.table--stack tbody td").count(), f"{path}: no stacked table"
            assert page.evaluate(CELLS_OUT_OF_SIGHT) == 0, f"{path}: cells right of the window"
        page.goto(url + "/candidates")
        status = page.locator("#candidates-table tbody td.col-status").first
        label = status.evaluate("td => getComputedStyle(td, '::before').content")
        assert label == '"Status"', label
    finally:
        page.context.close()
