"""Review: an address locked for spraying passwords (``HUB_SIGN_IN_MAX_FAILURES_PER_ADDRESS``) is
refused before any password is checked, and must not write anything either: each refused attempt
at a new email used to leave two throttle rows (the email's, and the email's from that address,
with no failure counted) behind, so a locked address could fill the table at the speed of a 429,
with no password hash to slow it, until the purge a lock window later."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import SignInThrottle
from tests.web.support import FakeAssess, FakeSource, seed, sign_in

SPRAYER = "198.51.100.9"


@pytest.fixture
def app(make_app):
    app = make_app({"SIGN_IN_MAX_FAILURES_PER_ADDRESS": 4},
                   plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    seed(app)
    return app


def _rows(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(SignInThrottle))


def test_a_locked_address_adds_no_rows_for_the_emails_it_goes_on_trying(app):
    sprayer = app.test_client()
    sprayer.environ_base["REMOTE_ADDR"] = SPRAYER
    assert [sign_in(sprayer, f"user{n}@acme.test", "Spring2024!").status_code for n in range(4)] == [401] * 3 + [429]
    before = _rows(app)

    refused = [sign_in(sprayer, f"other{n}@acme.test", "Spring2024!").status_code for n in range(25)]

    assert refused == [429] * 25
    assert _rows(app) == before  # was before + 50: two rows per refused attempt
