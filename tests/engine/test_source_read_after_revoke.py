"""A provider's delivery reads the candidate from the ATS (``ctx.source``). When the ATS is revoked
(or disabled) while that read is in flight, its next call to the ATS (the ATS client's inline
retry, the next page) must not go out with the forgotten credentials: README.md, Guarantees, and
DESIGN.md, 8 ("nothing keeps calling a vendor that was revoked"). The provider's delivery is not
the ATS's: it waits and retries (as when no ATS is enabled), to run once the ATS is back."""

import requests
from requests.adapters import BaseAdapter

from hub import hookimpl, services
from hub.engine.runner import run_delivery
from hub.entities import ASSESSMENT, IntegrationSpec
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Delivery
from tests.support.engine import enable, one_delivery
from tests.support.plugins import FakeSource


class CountingAdapter(BaseAdapter):
    """Answers every request 200 without a network, counting them."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def send(self, request, **kwargs):
        self.urls.append(request.url)
        response = requests.Response()
        response.status_code, response.url, response._content = 200, request.url, b"{}"
        return response

    def close(self):
        pass


class RevokedMidRead(FakeSource):
    """An ATS whose candidate read takes two calls; between them a Super Admin revokes it."""

    def __init__(self):
        super().__init__()
        self.adapter = CountingAdapter()
        self.refused = None

    @hookimpl
    def source_get_candidate(self, ctx, opportunity_id):
        ctx.http.mount("http://ats.test/", self.adapter)
        ctx.http.get("http://ats.test/opportunities/1")
        services.revoke(get_runtime(), ctx.workspace_id, ctx.plugin_name, "admin@example.com")
        try:
            ctx.http.get("http://ats.test/opportunities/1?retry=1")  # the client's inline retry
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            self.refused = exc
            raise
        return None


class ReadsTheCandidate:
    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Reader"))

    @hookimpl
    def on_stage_change(self, ctx, change):
        ctx.source.get_candidate(change.opportunity_id)


def test_a_source_read_in_flight_calls_the_revoked_ats_no_more_and_the_delivery_waits(make_app):
    source = RevokedMidRead()
    app = make_app(plugins=[("src", source), ("reader", ReadsTheCandidate())], entry_points=False)
    keys = enable(app, "src", "reader")
    with app.app_context():
        delivery_id = one_delivery(app, keys["src"])
        assert run_delivery(get_runtime(), delivery_id) == "retry"
        row = db.session.get(Delivery, delivery_id, populate_existing=True)
        assert row.status == "retry"  # the reader's work waits for the ATS to be connected again
        assert "disconnected" in row.last_error
    assert source.adapter.urls == ["http://ats.test/opportunities/1"]  # nothing after the revoke
    assert source.refused is not None
