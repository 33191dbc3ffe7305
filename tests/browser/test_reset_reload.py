"""Users > Reset password in a real browser: the new password is shown once on the Users page the
reset redirects to; reloading that page does not send the reset again (the browser used to stay on
``POST /users/<id>/password``, and a reload re-posted it: a second reset, a second password)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from werkzeug.serving import make_server

from hub.extensions import db
from hub.store.models import AuditEntry
from tests.browser.test_layout import LAPTOP, signed_in_page
from tests.web.support import FakeAssess, FakeSource, seed

pytestmark = pytest.mark.browser


def test_reloading_after_a_reset_neither_resets_again_nor_shows_the_password_again(browser, make_app, shots):
    app = make_app(plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    seeded = seed(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    page = signed_in_page(browser, url, seeded.email("admin"), LAPTOP)
    try:
        page.goto(url + "/users")
        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_navigation():
            page.click(f"#reset-password-{seeded.users['team_member']}")
        expect(page.locator("#password-reset")).to_contain_text("team_member@acme.test has a new password")
        password = page.input_value("#reset-password")
        assert page.url == url + "/users"
        shots.take(page, "reset shown once")

        for _ in range(2):  # no "resend the form?" and no second reset
            page.reload()
            expect(page.locator("#users-table")).to_be_visible()
            expect(page.locator("#password-reset")).to_have_count(0)
            assert password not in page.content()
        with app.app_context():
            resets = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                       .where(AuditEntry.action == "user.password_reset"))
        assert resets == 1
    finally:
        page.context.close()
        server.shutdown()
        thread.join(10)
