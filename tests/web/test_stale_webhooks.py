"""Webhooks registered at the vendor for an older URL of this connection (``queries.stale_webhooks``)
reach no workspace: the integration's page marks each one and offers to register them again, and
the Dashboard's "Needs attention" names the ATS, both from the one check."""

from __future__ import annotations

import re
from html import unescape

from hub import hookimpl
from hub.entities import ConnectionState, RegisteredWebhook
from hub.extensions import db
from hub.runtime import get_runtime
from tests.web.support import FakeAssess, FakeSource, seed, sign_in


class RegisteringSource(FakeSource):
    """A source whose one registered webhook points at ``registered_url`` (None: this connection's)."""

    registered_url: str | None = None

    @hookimpl
    def connection_state(self, ctx):
        url = self.registered_url or ctx.webhook_url
        return ConnectionState(webhooks=(RegisteredWebhook("stage", "Candidate Stage Change", url),))


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html))).strip()


def test_a_webhook_registered_for_an_older_url_is_marked_and_needs_attention(make_app):
    source = RegisteringSource()
    app = make_app(plugins=[("fakesource", source), ("fakeassess", FakeAssess())], entry_points=False)
    seeded = seed(app)
    with app.app_context():
        get_runtime().integration(1, "fakesource").status = "connected"
        db.session.commit()
    owner = app.test_client()
    assert sign_in(owner, seeded.email("super_admin")).status_code == 302

    # registered for this connection's URL: nothing to mark, nothing to register
    page = owner.get("/integrations/fakesource").get_data(as_text=True)
    assert "Candidate Stage Change" in page and "older URL" not in page
    assert "Check the webhooks at Fake ATS again" in page and "Register webhooks in Fake ATS" not in page
    assert "older URL" not in owner.get("/").get_data(as_text=True)

    source.registered_url = "http://hub.test/webhooks/fakesource/an-earlier-key"
    page = owner.get("/integrations/fakesource").get_data(as_text=True)
    assert "Candidate Stage Change (for an older URL of this connection)" in _text(page)
    assert "Register webhooks in Fake ATS" in page
    item = re.search(r'<p id="unregistered-fakesource">(.*?)</p>', owner.get("/").get_data(as_text=True), re.S)
    assert item is not None
    assert _text(item.group(1)).startswith("Fake ATS's webhooks are registered for an older URL of this connection: "
                                           "no stage change reaches the hub")
