"""A page left open that refreshes itself (a candidate's page, Candidates, Activity) once its user may
no longer see it: found walking the pages as each role in a browser.

docs/permissions.md: removing someone from a posting "takes effect within that many seconds on the
next page load or API request. A page left open refreshes itself from what the hub read for that
user in the last minute, so there it can take up to a minute longer." A candidate's page left open
by a Limited Team Member taken off the posting kept showing the candidate for good: its refresh
answered 404, and static/hub.js kept what the page showed (and asked again every 20 seconds, for
ever). So did a page whose user was made a role that may not see it (403), or signed out (the
refresh is sent to the sign-in page): a deactivated user's screen kept the candidates on it.
Now the page is loaded again, and shows what the hub answers: the 404, the 403 or the sign-in page.
A refresh answered 503 (her postings cannot be read now) still keeps what the page shows.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from hub import services
from hub.extensions import db
from hub.store.models import User
from tests.browser.test_layout import LAPTOP, serving, signed_in_page
from tests.web.support import FakeAssess, FakeSource, seed, vendor_error

pytestmark = pytest.mark.browser

FRAGMENT = re.compile(r"fragment=1")
IDLE_MS = 21_000  # hub.js polls every 20 s when no work is pending (always, for a Limited Team Member)


@pytest.fixture
def hub(make_app):
    """``(url, seeded, app, source)``: the seeded web-test app served on loopback, and its fake ATS."""
    source = FakeSource()
    app = make_app(plugins=[("fakesource", source), ("fakeassess", FakeAssess())], entry_points=False)
    seeded = seed(app)
    with serving(app) as url:
        yield url, seeded, app, source


def _next_poll(page, status: int | None = None) -> None:
    with page.expect_response(FRAGMENT) as answer:
        page.clock.run_for(IDLE_MS)
    if status is not None:
        assert answer.value.status == status


def _forget_recent_reads(app) -> None:
    """As when the minute of the hub's last read of her postings has passed."""
    app.extensions.get("hub.polled_visibility", {}).clear()


def test_a_candidate_s_page_left_open_stops_showing_a_candidate_of_a_posting_she_left(browser, hub, shots):
    url, seeded, app, source = hub
    page = signed_in_page(browser, url, seeded.email("limited_team_member"), LAPTOP)
    try:
        page.clock.install()
        page.goto(f"{url}/candidates/{seeded.ids['invitation']}")
        expect(page.locator("#candidate-name")).to_have_text("Ada Lovelace")
        _next_poll(page, 200)  # still on the posting: the page refreshes as before
        expect(page.locator("#candidate-name")).to_have_text("Ada Lovelace")

        source.postings = [posting for posting in source.postings if posting.id != "p1"]  # taken off p1
        _forget_recent_reads(app)
        _next_poll(page, 404)
        expect(page.get_by_text("No such invitation")).to_be_visible()
        expect(page.locator("#candidate-name")).to_have_count(0)
        assert "Ada Lovelace" not in page.content() and "ada@mail.test" not in page.content()
        shots.take(page, "no longer hers")
    finally:
        page.context.close()


def test_a_page_left_open_by_someone_demoted_shows_the_refusal(browser, hub, shots):
    url, seeded, app, _ = hub
    page = signed_in_page(browser, url, seeded.email("admin"), LAPTOP)
    try:
        page.clock.install()
        page.goto(f"{url}/activity")
        expect(page.locator("#activity-events article").first).to_be_visible()
        with app.app_context():
            services.set_role(db.session.get(User, seeded.users["admin"]), "team_member", "test")
            db.session.commit()
        _next_poll(page, 403)
        expect(page.get_by_text("You do not have access to this")).to_be_visible()
        expect(page.locator("#activity-events")).to_have_count(0)
        shots.take(page, "refused")
    finally:
        page.context.close()


def test_a_page_left_open_by_someone_deactivated_goes_to_the_sign_in_page(browser, hub, shots):
    url, seeded, app, _ = hub
    page = signed_in_page(browser, url, seeded.email("team_member"), LAPTOP)
    try:
        page.clock.install()
        page.goto(f"{url}/candidates")
        expect(page.get_by_text("Ada Lovelace").first).to_be_visible()
        with app.app_context():
            services.set_active(db.session.get(User, seeded.users["team_member"]), False, "test")
            db.session.commit()
        _next_poll(page)
        expect(page.locator("#sign-in-submit")).to_be_visible()
        assert "/sign-in" in page.url and "Ada Lovelace" not in page.content()
        shots.take(page, "signed out")
    finally:
        page.context.close()


def test_a_page_whose_refresh_is_unavailable_keeps_what_it_shows(browser, hub):
    """503: the postings she is on cannot be read now; the page keeps what it shows until they can."""
    url, seeded, app, source = hub
    page = signed_in_page(browser, url, seeded.email("limited_team_member"), LAPTOP)
    try:
        page.clock.install()
        page.goto(f"{url}/candidates/{seeded.ids['invitation']}")
        expect(page.locator("#candidate-name")).to_have_text("Ada Lovelace")
        source.fail = vendor_error("Fake ATS timed out")
        _forget_recent_reads(app)
        _next_poll(page, 503)
        page.wait_for_timeout(500)
        expect(page.locator("#candidate-name")).to_have_text("Ada Lovelace")
        assert page.url.endswith(f"/candidates/{seeded.ids['invitation']}")
    finally:
        page.context.close()
