"""A delivery whose plugin's credentials the vendor refused (``NeedsReauthorization``) waits for a
reconnection instead of ending dead: no attempt spent, the integration flagged; the plugin's other
deliveries wait too, without their hook being called (no vendor call with what was refused); a
passed test of the connection or the plugin's own "connected" makes them due at once and they run;
one that waits longer than ``HUB_MAX_DEFER_SECONDS`` is dead, saying why; a revoke cancels them."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from hub import hookimpl, services
from hub.engine.runner import WAITING_FOR_RECONNECTION, run_delivery
from hub.entities import ConnectionState
from hub.errors import NeedsReauthorization
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Delivery, Event, utcnow
from hub.web.live import run_test
from tests.support.engine import enable
from tests.support.plugins import FakeSource, Recorder


class RefusedUntilReconnected(Recorder):
    """Its vendor refuses its credentials while ``refused`` is set."""

    def __init__(self):
        super().__init__("Refusing Vendor")
        self.refused = True
        self.tests = 0

    @hookimpl
    def on_stage_change(self, ctx, change):
        self.calls.append(change.opportunity_id)
        if self.refused:
            raise NeedsReauthorization("Refusing Vendor refused the API key (401)")

    @hookimpl
    def connection_state(self, ctx):
        return ConnectionState(credentials_present=True)

    @hookimpl
    def test_connection(self, ctx):
        self.tests += 1
        return "Refusing Vendor answered"


def post(app, key, event_id, opportunity):
    answer = app.test_client().post(f"/webhooks/src/{key}", data=json.dumps(
        {"id": event_id, "opportunity_id": opportunity, "to_stage_id": "s1"}))
    assert answer.status_code == 200, answer.get_data(as_text=True)


def delivery_of(event_id: str) -> Delivery:
    row = db.session.scalar(sa.select(Delivery).join(Event).where(Event.external_id == event_id))
    db.session.refresh(row)
    return row


def _world(make_app, overrides=None):
    plugin = RefusedUntilReconnected()
    app = make_app(overrides, plugins=[("src", FakeSource()), ("refusing", plugin)], entry_points=False)
    keys = enable(app, "src", "refusing")
    return app, plugin, keys


def test_refused_credentials_make_the_work_wait_and_a_passed_test_lets_it_go_on(make_app):
    app, plugin, keys = _world(make_app)
    with app.app_context():
        get_runtime().queue = None
        post(app, keys["src"], "evt-1", "opp-1")
        post(app, keys["src"], "evt-2", "opp-2")
        first = delivery_of("evt-1").id
        assert run_delivery(get_runtime(), first) == "waiting_for_reconnection"
        row = delivery_of("evt-1")
        assert row.status == "retry" and row.attempts == 0 and row.waiting_since is not None
        assert row.last_error == WAITING_FOR_RECONNECTION + "Refusing Vendor refused the API key (401)"
        assert (row.next_attempt_at - utcnow()).total_seconds() >= 59
        integration = get_runtime().integration(1, "refusing")
        assert integration.status == "needs_reauthorization"

        # the second one is not run against the vendor while the connection needs reconnecting
        second = delivery_of("evt-2").id
        assert run_delivery(get_runtime(), second) == "waiting_for_reconnection"
        assert plugin.calls == ["opp-1"]
        assert delivery_of("evt-2").last_error.startswith(WAITING_FOR_RECONNECTION + "Refusing Vendor refused")

        plugin.refused = False  # the admin fixed it at the vendor, and tests the connection
        assert run_test(1, "refusing", "test") == "Refusing Vendor answered"
        assert get_runtime().integration(1, "refusing").status == "connected"
        for event_id in ("evt-1", "evt-2"):
            assert delivery_of(event_id).next_attempt_at <= utcnow()  # due now, not in a minute
        assert run_delivery(get_runtime(), first) == "done"
        assert run_delivery(get_runtime(), second) == "done"
        assert sorted(plugin.calls) == ["opp-1", "opp-1", "opp-2"]
        assert delivery_of("evt-2").waiting_since is None and delivery_of("evt-2").attempts == 1


def test_the_plugin_saying_connected_again_wakes_the_waiting_work(make_app):
    app, plugin, keys = _world(make_app)
    with app.app_context():
        get_runtime().queue = None
        post(app, keys["src"], "evt-1", "opp-1")
        assert run_delivery(get_runtime(), delivery_of("evt-1").id) == "waiting_for_reconnection"
        plugin.refused = False
        ctx = get_runtime().context(1, "refusing")
        ctx.set_status("connected", "connected with OAuth again")  # as an OAuth plugin's callback does
        assert delivery_of("evt-1").next_attempt_at <= utcnow()
        assert run_delivery(get_runtime(), delivery_of("evt-1").id) == "done"


def test_work_waiting_too_long_is_dead_and_a_revoke_cancels_the_rest(make_app):
    app, plugin, keys = _world(make_app, {"MAX_DEFER_SECONDS": 3600})
    with app.app_context():
        get_runtime().queue = None
        post(app, keys["src"], "evt-1", "opp-1")
        post(app, keys["src"], "evt-2", "opp-2")
        assert run_delivery(get_runtime(), delivery_of("evt-1").id) == "waiting_for_reconnection"
        assert run_delivery(get_runtime(), delivery_of("evt-2").id) == "waiting_for_reconnection"
        db.session.execute(sa.update(Delivery).where(Delivery.id == delivery_of("evt-1").id).values(
            waiting_since=utcnow() - timedelta(hours=2), next_attempt_at=utcnow()))
        db.session.commit()
        assert run_delivery(get_runtime(), delivery_of("evt-1").id) == "dead"
        dead = delivery_of("evt-1")
        assert dead.last_error == ("needs re-authorization: Refusing Vendor refused the API key (401) "
                                   "(not reconnected in time)")

        services.revoke(get_runtime(), 1, "refusing", "test")
        assert delivery_of("evt-2").status == "cancelled"
    assert plugin.calls == ["opp-1"]


class RefusingSource(FakeSource):
    """A source whose vendor refuses its credentials while ``refused`` is set."""

    def __init__(self):
        super().__init__()
        self.refused = True

    @hookimpl
    def source_get_candidate(self, ctx, opportunity_id):
        if self.refused:
            raise NeedsReauthorization("Fake ATS refused the token")
        return None

    @hookimpl
    def connection_state(self, ctx):
        return ConnectionState(credentials_present=True)

    @hookimpl
    def test_connection(self, ctx):
        return "Fake ATS answered"


class ReadsTheSource(Recorder):
    @hookimpl
    def on_stage_change(self, ctx, change):
        ctx.source.get_candidate(change.opportunity_id)
        self.calls.append(change.opportunity_id)


def test_a_provider_s_work_waits_for_the_source_to_be_reconnected_without_spending_attempts(make_app):
    source, provider = RefusingSource(), ReadsTheSource()
    app = make_app({"DELIVERY_MAX_ATTEMPTS": 2}, plugins=[("src", source), ("reader", provider)],
                   entry_points=False)
    keys = enable(app, "src", "reader")
    with app.app_context():
        get_runtime().queue = None
        post(app, keys["src"], "evt-1", "opp-1")
        reading = delivery_of("evt-1").id
        for _ in range(4):  # more looks than the attempts it has: none is spent, so it never ends dead
            assert run_delivery(get_runtime(), reading) == "waiting_for_reconnection"
            row = delivery_of("evt-1")
            assert row.status == "retry" and row.attempts == 0
            assert row.last_error == ("TemporaryError: source src needs re-authorization: Fake ATS refused the token")
            assert (row.next_attempt_at - utcnow()).total_seconds() >= 299  # the source's own pace
            db.session.execute(sa.update(Delivery).where(Delivery.id == reading).values(next_attempt_at=utcnow()))
            db.session.commit()
        source.refused = False  # the admin reconnects the source: a passed test wakes the work waiting for it
        assert run_test(1, "src", "test") == "Fake ATS answered"
        assert delivery_of("evt-1").next_attempt_at <= utcnow()
        assert run_delivery(get_runtime(), reading) == "done"
    assert provider.calls == ["opp-1"]


class RefusedWhileReplaced(RefusedUntilReconnected):
    """Its hook's vendor call, made with the key the run began with, is refused (401) while an
    admin saves a new key and its test passes: the refusal is about the key that was replaced."""

    @hookimpl
    def on_stage_change(self, ctx, change):
        self.calls.append(change.opportunity_id)
        if self.refused:
            self.refused = False
            runtime = get_runtime()
            row = runtime.integration(ctx.workspace_id, ctx.plugin_name)
            row.secrets_encrypted = runtime.secret_box.encrypt({"api_key": "the new key"})
            row.status, row.status_message = "connected", "Refusing Vendor answered"
            db.session.commit()
            raise NeedsReauthorization("Refusing Vendor refused the API key (401)")


def test_a_refusal_of_credentials_replaced_while_the_work_ran_does_not_hold_the_work(make_app):
    plugin = RefusedWhileReplaced()
    app = make_app(None, plugins=[("src", FakeSource()), ("refusing", plugin)], entry_points=False)
    keys = enable(app, "src", "refusing")
    with app.app_context():
        get_runtime().queue = None
        post(app, keys["src"], "evt-1", "opp-1")
        first = delivery_of("evt-1").id
        assert run_delivery(get_runtime(), first) == "waiting_for_reconnection"
        # the new key is connected: the old key's refusal does not flag it again...
        assert get_runtime().integration(1, "refusing").status == "connected"
        # ...and the work goes on at once with the new key, rather than waiting for a test
        assert delivery_of("evt-1").next_attempt_at <= utcnow()
        assert run_delivery(get_runtime(), first) == "done"
    assert plugin.calls == ["opp-1", "opp-1"]


def test_a_reconnection_while_a_delivery_is_being_put_back_still_wakes_it(make_app, monkeypatch):
    from hub.engine import runner

    app, plugin, keys = _world(make_app)
    with app.app_context():
        get_runtime().queue = None
        post(app, keys["src"], "evt-1", "opp-1")
        post(app, keys["src"], "evt-2", "opp-2")
        assert run_delivery(get_runtime(), delivery_of("evt-1").id) == "waiting_for_reconnection"
        plugin.refused = False
        checked = runner.stop_if_gone

        def reconnected_meanwhile(ctx):
            # the plugin says "connected" again (an OAuth callback) after this claim read the status:
            # its wake-up finds this delivery running, not waiting
            get_runtime().context(1, "refusing").set_status("connected", "connected again")
            checked(ctx)

        monkeypatch.setattr(runner, "stop_if_gone", reconnected_meanwhile)
        second = delivery_of("evt-2").id
        assert run_delivery(get_runtime(), second) == "waiting_for_reconnection"
        monkeypatch.setattr(runner, "stop_if_gone", checked)
        assert delivery_of("evt-2").next_attempt_at <= utcnow()  # due now, not at its next look
        assert run_delivery(get_runtime(), second) == "done"
