"""A provider revoked with a delivery waiting, then enabled again before its API key is entered
again: the message after Enable said "replay it on Activity", and the Dashboard's and Activity's
"Replay all cancelled" replayed it at once; the provider, without a key, failed on authentication
and the delivery ended dead (its connection "needs reconnecting"). A replay of a plugin that cannot
authenticate (no credentials, or credentials the vendor refused) is now refused on every path, the
page's and the API's, one or all at once, and the CLI's, with what to do first; the delivery is
left as it was. With the key entered again the same replay runs it (README.md, Guarantees, 2)."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from hub import hookimpl, services
from hub.entities import ConnectionState
from hub.errors import NeedsReauthorization
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Delivery, Integration
from tests.web.support import FakeAssess, FakeSource

HOW = "enter Fake Tests' API key in the settings and save"
NOT_CONNECTED = f"Fake Tests is not connected: {HOW}, then replay its deliveries"


class KeyedAssess(FakeAssess):
    """The fake provider, needing its API key as a real one does: its ``connection_state`` says
    whether it has one, and its work without one fails on authentication."""

    @hookimpl
    def connection_state(self, ctx):
        return ConnectionState(credentials_present=bool(ctx.secrets.get("api_key")), credentials_help=HOW)

    @hookimpl
    def on_stage_change(self, ctx, change):
        if not ctx.secrets.get("api_key"):
            raise NeedsReauthorization("no Fake Tests API key is configured")
        self.stage_changes.append(change.opportunity_id)

    @hookimpl
    def test_connection(self, ctx):
        return "Fake Tests answered."


@pytest.fixture
def fakes():
    return FakeSource(), KeyedAssess()


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


def _flashes(html: str) -> str:
    return _text(re.search(r'id="flashes">(.*?)</div>\s*</div>\s*(?:<nav|<header|<div)', html, re.S).group(1))


def _status(app, delivery_id: int) -> tuple[str, int, str | None]:
    with app.app_context():
        row = db.session.get(Delivery, delivery_id)
        return row.status, row.attempts, row.last_error


def _connection(app) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Integration.status).where(Integration.workspace_id == 1,
                                                                     Integration.plugin == "fakeassess"))


def _save_key(app) -> None:
    with app.app_context():
        services.save_settings(get_runtime(), 1, "fakeassess", {"api_key": "key-1"}, "test")


def _waiting_delivery(app, status: str = "retry", last_error: str = "TemporaryError: Fake Tests is down") -> int:
    """A delivery to Fake Tests of a new stage change, in ``status``."""
    with app.app_context():
        from tests.web.support import _dead_delivery

        delivery = _dead_delivery(1)
        delivery.status, delivery.attempts, delivery.last_error = status, 2, last_error
        db.session.commit()
        return delivery.id


def _revoked_then_enabled_without_the_key(app, owner) -> int:
    """Fake Tests connected with a delivery waiting to retry; a Super Admin revokes it (the delivery
    is cancelled) and enables it again, the key not entered again."""
    _save_key(app)
    delivery_id = _waiting_delivery(app)
    owner.post("/integrations/fakeassess/revoke")
    assert _status(app, delivery_id)[0] == "cancelled"
    html = owner.post("/integrations/fakeassess/enable", follow_redirects=True).get_data(as_text=True)
    # what Enable says about it names the step before the replay
    assert (f"1 delivery to Fake Tests cancelled by a disable or revoke was never sent: {HOW}, then replay it "
            "on Activity.") in _flashes(html)
    return delivery_id


def test_replay_all_cancelled_before_the_key_is_entered_again_skips_them_and_says_what_to_do(hub_app, seeded,
                                                                                               as_role, fakes):
    owner, admin = as_role("super_admin"), as_role("admin")
    delivery_id = _revoked_then_enabled_without_the_key(hub_app, owner)
    dashboard = admin.get("/").get_data(as_text=True)
    # the Dashboard names the step before the replay, and offers no button that would replay nothing
    assert f"{NOT_CONNECTED}." in _text(re.search(r'id="attention-cancelled">(.*?)</div>', dashboard, re.S).group(1))
    assert 'id="dashboard-replay-cancelled"' not in dashboard
    # Activity's own Replay of it is shown disabled, with the same step (no click that would be refused)
    activity = admin.get("/activity?status=cancelled").get_data(as_text=True)
    button = re.search(rf'<button[^>]*id="replay-{delivery_id}"[^>]*>', activity).group(0)
    assert "disabled" in button
    assert 'id="replay-all-cancelled"' not in activity  # nothing "Replay all cancelled" would replay now
    assert unescape(re.search(rf'id="replay-{delivery_id}-note">([^<]*)<', activity).group(1)) == NOT_CONNECTED

    html = admin.post("/activity/deliveries/replay-all", data={"status": "cancelled", "next": "/activity"},
                      follow_redirects=True).get_data(as_text=True)
    assert f"0 cancelled deliveries replayed. 1 not replayed: {NOT_CONNECTED}." in _flashes(html)
    assert _status(hub_app, delivery_id) == ("cancelled", 2, "integration disabled or revoked")  # not dead
    assert _connection(hub_app) == "enabled" and fakes[1].stage_changes == []  # not "needs reconnecting"

    # one at a time: refused alike
    html = admin.post(f"/activity/deliveries/{delivery_id}/replay", follow_redirects=True).get_data(as_text=True)
    assert f"{NOT_CONNECTED}." in _flashes(html)
    assert _status(hub_app, delivery_id)[0] == "cancelled"

    # the key entered again: the Dashboard offers it, and the same button sends it
    _save_key(hub_app)
    dashboard = admin.get("/").get_data(as_text=True)
    assert "Replay all cancelled (1)" in dashboard and 'id="cancelled-blocked-fakeassess"' not in dashboard
    activity = admin.get("/activity?status=cancelled").get_data(as_text=True)
    assert f'id="replay-{delivery_id}-note"' not in activity and "Replay all cancelled (1)" in activity
    html = admin.post("/activity/deliveries/replay-all", data={"status": "cancelled", "next": "/activity"},
                      follow_redirects=True).get_data(as_text=True)
    assert "1 cancelled delivery replayed." in _flashes(html)
    assert _status(hub_app, delivery_id)[0] == "done" and len(fakes[1].stage_changes) == 1


def test_the_api_refuses_a_replay_before_the_key_is_entered_again(hub_app, seeded, as_role, api):
    delivery_id = _revoked_then_enabled_without_the_key(hub_app, as_role("super_admin"))

    one = api("POST", f"/deliveries/{delivery_id}/replay", role="admin", json={})
    assert one.status_code == 409 and one.get_json()["error"]["message"] == NOT_CONNECTED, one.get_json()
    every = api("POST", "/deliveries/replay", role="admin", json={"status": "cancelled"})
    assert every.status_code == 200, every.get_json()
    assert every.get_json()["replayed"] == []
    assert every.get_json()["skipped"] == [{"id": delivery_id, "reason": NOT_CONNECTED}]
    assert _status(hub_app, delivery_id)[0] == "cancelled"


def test_the_api_s_enable_says_to_enter_the_key_before_replaying(hub_app, seeded, as_role, api):
    _save_key(hub_app)
    _waiting_delivery(hub_app)
    assert api("POST", "/integrations/fakeassess/revoke", json={}).status_code == 200
    answer = api("POST", "/integrations/fakeassess/enable", json={}).get_json()
    assert any(f"was never sent: {HOW}, then replay it with POST /api/v1/deliveries/replay" in warning
               for warning in answer["warnings"]), answer


def test_a_replay_while_the_vendor_refuses_the_credentials_is_refused_until_a_test_passes(hub_app, seeded, as_role,
                                                                                          fakes):
    _save_key(hub_app)
    delivery_id = _waiting_delivery(hub_app, "dead", "needs re-authorization: Fake Tests refused the API key")
    with hub_app.app_context():
        row = get_runtime().integration(1, "fakeassess")
        row.status, row.status_message = "needs_reauthorization", "Fake Tests refused the API key"
        db.session.commit()
    admin = as_role("admin")
    html = admin.post(f"/activity/deliveries/{delivery_id}/replay", follow_redirects=True).get_data(as_text=True)
    assert (f"Fake Tests needs reconnecting (it refused the credentials): {HOW} or test the connection again, then "
            "replay its deliveries.") in _flashes(html)
    assert _status(hub_app, delivery_id)[0] == "dead" and fakes[1].stage_changes == []
    # Fake Tests takes the key again (fixed at the vendor): a Super Admin's test says so
    assert "Fake Tests answered." in _flashes(as_role("super_admin").post(
        "/integrations/fakeassess/test", follow_redirects=True).get_data(as_text=True))
    assert _connection(hub_app) == "connected"
    html = admin.post(f"/activity/deliveries/{delivery_id}/replay", follow_redirects=True).get_data(as_text=True)
    assert "is queued to run again" in _flashes(html)
    assert _status(hub_app, delivery_id)[0] == "done" and len(fakes[1].stage_changes) == 1


def test_the_cli_skips_a_dead_delivery_of_a_plugin_without_its_key_and_refuses_one_named(hub_app, seeded):
    with hub_app.app_context():
        dead = list(db.session.scalars(sa.select(Delivery.id).where(Delivery.status == "dead",
                                                                    Delivery.plugin == "fakeassess")))
    assert dead  # the seed's: Fake Tests has no key in it
    runner = hub_app.test_cli_runner()
    result = runner.invoke(args=["deliveries", "replay", "--all-dead"])
    assert result.exit_code == 1, result.output
    assert f"warning: skipped delivery {dead[0]}: {NOT_CONNECTED}" in result.output
    named = runner.invoke(args=["deliveries", "replay", str(dead[0])])
    assert named.exit_code == 1 and f"delivery {dead[0]}: {NOT_CONNECTED}" in named.output, named.output
    with hub_app.app_context():
        assert set(db.session.scalars(sa.select(Delivery.status).where(Delivery.id.in_(dead)))) == {"dead"}
