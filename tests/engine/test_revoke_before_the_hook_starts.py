"""A revoke that lands after the worker checked the integration is enabled, but before it made the
plugin's context: the context was made of the revoked connection (its new webhook key), so what the
run stored afterwards counted as the current connection's. A run that then found no credentials
(its hook raising ``NeedsReauthorization``) turned "Access revoked" into "Needs reconnecting", and
its secrets and settings could be written to the revoked integration: README.md, What it does, 5."""

import pytest

import hub.engine.runner as runner
from hub import hookimpl, services
from hub.errors import NeedsReauthorization
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Delivery
from tests.support.engine import enable, one_delivery
from tests.support.plugins import FakeSource, Recorder


class FindsNoKey(Recorder):
    """A provider whose hook finds its credentials gone, as Canditech's does after a revoke."""

    @hookimpl
    def on_stage_change(self, ctx, change):
        self.calls.append(ctx.secrets.get("api_key"))
        try:
            ctx.update_settings({"account": "stored-after-the-revoke"})
        except Exception:  # noqa: BLE001 - refused is what the test wants; the hook goes on
            pass
        raise NeedsReauthorization("no API key is configured for this connection")


@pytest.mark.parametrize("how", ["revoked", "disabled"])
def test_a_revoke_before_the_context_is_made_leaves_the_integration_as_the_revoke_left_it(make_app, monkeypatch,
                                                                                         how):
    plugin = FindsNoKey("Vendor")
    app = make_app(plugins=[("src", FakeSource()), ("vendor", plugin)], entry_points=False)
    keys = enable(app, "src", "vendor")
    superseded = runner._superseded

    def stopped_meanwhile(workspace_id, event):  # runs after the check, before the context is made
        if how == "revoked":
            services.revoke(get_runtime(), workspace_id, "vendor", "admin@example.com")
        else:
            services.set_enabled(get_runtime(), workspace_id, "vendor", False, "admin@example.com")
        return superseded(workspace_id, event)

    monkeypatch.setattr(runner, "_superseded", stopped_meanwhile)
    with app.app_context():
        row = get_runtime().integration(1, "vendor")
        before = (row.status, row.status_message, dict(row.settings or {}))
        db.session.commit()
        delivery_id = one_delivery(app, keys["src"])
        runner.run_delivery(get_runtime(), delivery_id)
        row = get_runtime().integration(1, "vendor")
        db.session.refresh(row)
        assert db.session.get(Delivery, delivery_id, populate_existing=True).status == "cancelled"
        if how == "revoked":
            assert (row.status, row.status_message) == ("revoked", "access revoked; connect again to resume")
        else:
            assert (row.status, row.status_message) == before[:2]
        assert row.settings.get("account") == before[2].get("account")
    assert plugin.calls == []  # the hook of a delivery cancelled before it started does not run
