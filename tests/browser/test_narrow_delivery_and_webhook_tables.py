"""Activity's delivery tables and the integration page's Recent webhooks on a phone (390 px), in a
900 px window (the menu beside the page) and a wide window (1400 px), in a real browser (Debian's
chromium).

Walking the demo at 390 px: Candidates, Pipeline, Users and Audit turned into cards, but each
Activity event's table of deliveries and the webhook log stayed wide tables scrolling sideways
inside their cards (about 680 px of content in 358 px), with nothing showing there was more: a
dead delivery's Last error and Replay button, a rejected webhook's message were out of sight on the
right. They now stack as the other lists do (each cell under its column's name); at 1400 px they
are the tables they were.

From 821 px the menu is beside the page again: up to about 1100 px the same columns were out of
sight, as the tables stacked only in a window of 640 px or less. They stack now when their card is
narrower than 800 px, whatever the window's width (tests/browser/test_tables_by_card_width.py checks
every list).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest

from tests.browser.test_layout import PHONE, serving, signed_in_page
from tests.web.support import FakeAssess, FakeSource, seed

pytestmark = pytest.mark.browser

WIDE = {"width": 1400, "height": 900}
SIDEBAR = {"width": 900, "height": 900}  # the menu beside the page: 606 px for the page's cards
NARROW = [PHONE, SIDEBAR]
NARROW_IDS = ["phone", "900px"]
LAST_ERROR = ("Fake Assess answered 503 Service Unavailable while inviting the candidate: the assessment "
              "service is down for maintenance until 14:00 UTC")
MESSAGE = ("Signature mismatch: the webhook's signature does not match the signature token stored for "
           "Fake ATS; check the token in Fake ATS's webhook settings at "
           "https://fake-ats.example/settings/integrations/webhooks/fakesource-0123456789abcdef")  # one long word

# the page's width against the window's; the card around ``selector``'s width against what it holds
WIDTHS = """selector => {
    const card = document.querySelector(selector).closest(".card");
    return {page: document.documentElement.scrollWidth, window: window.innerWidth,
            card: card.scrollWidth, cardBox: card.clientWidth};
}"""


@pytest.fixture
def served(make_app):
    """The seeded web-test app, a long Last error on one dead delivery and a rejected webhook with
    a long message in Fake ATS's log, served on a loopback port; yields ``(url, ids)``."""
    with serving_long_texts(make_app) as served:
        yield served


@contextlib.contextmanager
def serving_long_texts(make_app):
    """``served``'s app and ``(url, ids)``: ids holds the dead delivery's, its event's, the rejected
    webhook's, and the Admin's and the Super Admin's emails."""
    from hub.extensions import db
    from hub.store.models import Delivery, WebhookLog, utcnow

    app = make_app(plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    seeded = seed(app)
    with app.app_context():
        delivery = db.session.get(Delivery, seeded.ids["delivery"])
        delivery.last_error = LAST_ERROR
        now = utcnow()
        rows = [WebhookLog(workspace_id=seeded.workspace_id, plugin="fakesource", outcome="accepted",
                           status_code=200, event_count=1, message="", received_at=now - timedelta(minutes=5)),
                WebhookLog(workspace_id=seeded.workspace_id, plugin="fakesource", outcome="rejected",
                           status_code=401, event_count=0, message=MESSAGE, received_at=now)]
        db.session.add_all(rows)
        db.session.commit()
        ids = {"delivery": delivery.id, "event": delivery.event_id, "rejected": rows[1].id,
               "admin": seeded.email("admin"), "super_admin": seeded.email("super_admin")}
    with serving(app) as url:
        yield url, ids


def _delivery(page, url, ids):
    """Activity showing the event of the dead delivery; (its row, its Last error cell, its Replay)."""
    answer = page.goto(f"{url}/activity?event={ids['event']}")
    assert answer.status == 200
    row = page.locator(f"#delivery-{ids['delivery']}")
    error = row.locator("td").nth(4)
    assert error.inner_text().strip() == LAST_ERROR  # the Last error column, as the page shows it
    replay = page.locator(f"#replay-{ids['delivery']}")
    assert replay.is_enabled() and replay.inner_text().startswith("Replay")
    return row, error, replay


def _webhook(page, url, ids):
    """Fake ATS's page; (the rejected webhook's row, its Message cell)."""
    answer = page.goto(f"{url}/integrations/fakesource")
    assert answer.status == 200
    row = page.locator(f"#webhook-log-{ids['rejected']}")
    assert row.get_attribute("data-outcome") == "rejected"
    message = row.locator("td").nth(4)
    assert message.inner_text().strip() == MESSAGE
    return row, message


def _in_sight(page, name, locator):
    box = locator.bounding_box()
    assert box and box["width"] > 0, f"{name}: not laid out"
    width = page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{name}: {box} is not within {width} px"


def _no_sideways_scroll(page, selector):
    widths = page.evaluate(WIDTHS, selector)
    assert widths["page"] <= widths["window"], f"the page scrolls sideways: {widths}"
    assert widths["card"] <= widths["cardBox"], f"{selector}'s card scrolls sideways: {widths}"


def _label(cell) -> str:
    return cell.evaluate("td => getComputedStyle(td, '::before').content")


@pytest.mark.parametrize("viewport", NARROW, ids=NARROW_IDS)
def test_in_a_narrow_window_a_delivery_s_error_and_replay_are_in_sight(browser, served, shots, viewport):
    url, ids = served
    page = signed_in_page(browser, url, ids["admin"], viewport)
    try:
        row, error, replay = _delivery(page, url, ids)
        shots.take(page, "activity")
        _in_sight(page, "the Last error", error)
        _in_sight(page, "Replay", replay)
        for n, cell in enumerate(row.locator("td").all()[:6]):  # every column's cell, the Replay's aside
            _in_sight(page, f"cell {n}", cell)
        _no_sideways_scroll(page, f"#delivery-{ids['delivery']}")
        labels = [_label(cell) for cell in row.locator("td").all()[:6]]
        assert labels == ['"Plugin"', '"Step"', '"Status"', '"Attempts"', '"Last error"', '"Updated"'], labels
    finally:
        page.context.close()


@pytest.mark.parametrize("viewport", NARROW, ids=NARROW_IDS)
def test_in_a_narrow_window_a_rejected_webhook_s_message_is_in_sight(browser, served, shots, viewport):
    url, ids = served
    page = signed_in_page(browser, url, ids["admin"], viewport)
    try:
        row, message = _webhook(page, url, ids)
        page.locator("#webhook-log-card").scroll_into_view_if_needed()
        shots.take(page, "webhook log")
        _in_sight(page, "the rejection's message", message)
        for n, cell in enumerate(row.locator("td").all()):
            _in_sight(page, f"cell {n}", cell)
        _no_sideways_scroll(page, f"#webhook-log-{ids['rejected']}")
        labels = [_label(cell) for cell in row.locator("td").all()]
        assert labels == ['"Received"', '"Outcome"', '"HTTP"', '"Events"', '"Message"'], labels
    finally:
        page.context.close()


def _one_table_row(row, header):
    """The row's cells side by side on one line, under a header row that shows."""
    cells = row.locator("td").all()
    boxes = [cell.bounding_box() for cell in cells]
    assert len({round(box["y"]) for box in boxes}) == 1, boxes  # one row's top
    assert all(left["x"] < right["x"] for left, right in zip(boxes, boxes[1:])), boxes  # left to right
    assert {cell.evaluate("td => getComputedStyle(td).display") for cell in cells} == {"table-cell"}
    head = header.bounding_box()
    assert head and head["height"] > 0 and head["y"] + head["height"] <= boxes[0]["y"] + 1, (head, boxes[0])
    assert {_label(cell) for cell in cells} <= {"none", "normal"}  # no column name inside the cells


def test_on_a_wide_window_both_are_still_tables(browser, served, shots):
    url, ids = served
    page = signed_in_page(browser, url, ids["admin"], WIDE)
    try:
        row, error, replay = _delivery(page, url, ids)
        shots.take(page, "wide activity")
        _one_table_row(row, page.locator(f"#deliveries-{ids['event']} thead th").first)
        assert error.bounding_box()["x"] < replay.bounding_box()["x"]  # Replay is in the last column
        _no_sideways_scroll(page, f"#delivery-{ids['delivery']}")

        row, message = _webhook(page, url, ids)
        page.locator("#webhook-log-card").scroll_into_view_if_needed()
        shots.take(page, "wide webhook log")
        _one_table_row(row, page.locator("#webhook-log thead th").first)
        _no_sideways_scroll(page, f"#webhook-log-{ids['rejected']}")
    finally:
        page.context.close()
