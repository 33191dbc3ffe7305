"""A reconciliation runs on a worker's sweeper thread for up to minutes (Canditech's reads up to
200 seconds), calling the vendor with the credentials its context read when it started. When its
integration is revoked (or disabled) meanwhile, its next vendor call must not go out with the
forgotten credentials, and what it found must not be stored as work: DESIGN.md, 8 ("nothing keeps
calling a vendor that was revoked") and README.md, What it does, 5 ("stops all processing"). A
webhook the vendor sends then is refused; the same news found by a reconciliation is no different."""

import pytest
import requests
import sqlalchemy as sa
from requests.adapters import BaseAdapter

from hub import hookimpl, services
from hub.engine.sweeper import reconcile_all
from hub.entities import InboundEvent, StageChange
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Delivery, Event
from tests.support.engine import enable
from tests.support.plugins import FakeSource, Recorder


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


def stop(how: str, ctx) -> None:
    if how == "revoked":
        services.revoke(get_runtime(), ctx.workspace_id, ctx.plugin_name, "admin@example.com")
    else:
        services.set_enabled(get_runtime(), ctx.workspace_id, ctx.plugin_name, False, "admin@example.com")


class StoppedMidReconcile(Recorder):
    """Reads two things from its vendor; between them a Super Admin revokes (or disables) it."""

    def __init__(self, how: str, second_read: bool):
        super().__init__("Vendor")
        self.how, self.second_read = how, second_read
        self.adapter = CountingAdapter()
        self.refused = None

    @hookimpl
    def reconcile(self, ctx):
        ctx.http.mount("http://vendor.test/", self.adapter)
        ctx.http.get("http://vendor.test/invitations/1")
        stop(self.how, ctx)
        if self.second_read:
            try:
                ctx.http.get("http://vendor.test/invitations/2")
            except Exception as exc:  # noqa: BLE001 - recorded for the assertions
                self.refused = exc
                raise
        return [InboundEvent(external_id="reconcile:1", event=StageChange(opportunity_id="opp-1",
                                                                          to_stage_id="stage-1"))]


@pytest.mark.parametrize("how", ["revoked", "disabled"])
@pytest.mark.parametrize("second_read", [True, False], ids=["another-read", "found-already"])
def test_a_reconciliation_in_flight_calls_its_vendor_no_more_and_stores_nothing(make_app, caplog, how, second_read):
    plugin = StoppedMidReconcile(how, second_read)
    listener = Recorder("Listener")  # would get a delivery of what the reconciliation found
    app = make_app(plugins=[("src", FakeSource()), ("vendor", plugin), ("listener", listener)], entry_points=False)
    enable(app, "src", "vendor", "listener")
    with app.app_context():
        with caplog.at_level("INFO", logger="hub.engine.sweeper"):
            assert reconcile_all(get_runtime()) == 0
        assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(Delivery.id))) == 0
    assert plugin.adapter.urls == ["http://vendor.test/invitations/1"]  # nothing after the stop
    assert (plugin.refused is not None) == second_read
    said = [r.getMessage() for r in caplog.records if r.name == "hub.engine.sweeper"]
    assert said == ["reconcile of vendor in workspace 1 stopped: vendor was disabled or disconnected while this work "
                    "ran: it calls its vendor no more; what it found is not stored"]
