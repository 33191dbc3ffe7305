"""Deferring deliveries (``Deferred``): how long they may wait, how often they run while waiting,
and that they run at once when a delivery about the same subject is done."""

import json
from datetime import timedelta

import sqlalchemy as sa

from hub import hookimpl
from hub.engine.runner import MAX_DEFERRAL_SPACING_SECONDS, deferral_spacing, replay, run_delivery
from hub.errors import Deferred
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Delivery, Event, utcnow
from tests.support.engine import enable
from tests.support.plugins import FakeSource, Recorder


class WaitsForTheFirstStage(Recorder):
    """Defers a move into ``second`` until it has handled a move of the same candidate into
    ``first`` (as a verdict waits for its completion's note)."""

    @hookimpl
    def on_stage_change(self, ctx, change):
        if change.to_stage_id == "first":
            ctx.records.put(f"first:{change.opportunity_id}", True)
        elif not ctx.records.get(f"first:{change.opportunity_id}"):
            raise Deferred("the first stage is not handled yet", retry_after=3600)
        self.calls.append(change.to_stage_id)


class AlwaysDefers(Recorder):
    @hookimpl
    def on_stage_change(self, ctx, change):
        self.calls.append(change.to_stage_id)
        raise Deferred("waiting for something", retry_after=0.01)


def post(app, key, event_id, opportunity="opp-1", stage="second"):
    answer = app.test_client().post(f"/webhooks/src/{key}", data=json.dumps(
        {"id": event_id, "opportunity_id": opportunity, "to_stage_id": stage}))
    assert answer.status_code == 200, answer.get_data(as_text=True)


def delivery_of(event_id: str) -> Delivery:
    row = db.session.scalar(sa.select(Delivery).join(Event).where(Event.external_id == event_id))
    db.session.refresh(row)
    return row


def make_due(delivery_id: int) -> None:
    db.session.execute(sa.update(Delivery).where(Delivery.id == delivery_id).values(next_attempt_at=utcnow()))
    db.session.commit()


def test_spacing_grows_with_the_wait_up_to_its_cap():
    assert deferral_spacing(0) == 0
    assert deferral_spacing(100) == 5
    assert deferral_spacing(-5) == 0
    assert deferral_spacing(10 * 24 * 3600) == MAX_DEFERRAL_SPACING_SECONDS


def test_a_deferred_delivery_runs_at_once_when_one_about_the_same_candidate_is_done(make_app):
    plugin = WaitsForTheFirstStage()
    app = make_app(plugins=[("src", FakeSource()), ("waits", plugin)], entry_points=False)
    keys = enable(app, "src", "waits")
    with app.app_context():
        get_runtime().queue = None
        post(app, keys["src"], "evt-second", stage="second")
        post(app, keys["src"], "evt-other", opportunity="opp-2", stage="second")
        waiting, other = delivery_of("evt-second"), delivery_of("evt-other")
        assert run_delivery(get_runtime(), waiting.id) == "deferred"
        assert run_delivery(get_runtime(), other.id) == "deferred"
        waiting = delivery_of("evt-second")
        assert waiting.status == "retry" and waiting.waiting_since is not None
        assert (waiting.next_attempt_at - utcnow()).total_seconds() > 3000  # the plugin's hour

        post(app, keys["src"], "evt-first", stage="first")
        assert run_delivery(get_runtime(), delivery_of("evt-first").id) == "done"

        woken = delivery_of("evt-second")
        assert woken.status == "retry" and woken.next_attempt_at <= utcnow()
        assert (delivery_of("evt-other").next_attempt_at - utcnow()).total_seconds() > 3000  # another candidate
        assert run_delivery(get_runtime(), woken.id) == "done"
        done = delivery_of("evt-second")
        assert done.status == "done" and done.waiting_since is None
    assert plugin.calls == ["first", "second"]


def always_deferring(make_app):
    """A hub whose plugin ``defers`` always defers, with an hour's HUB_MAX_DEFER_SECONDS, and no
    queue (nothing runs by itself); returns the app and the id of its one delivery."""
    app = make_app({"MAX_DEFER_SECONDS": 3600}, plugins=[("src", FakeSource()), ("defers", AlwaysDefers())],
                   entry_points=False)
    keys = enable(app, "src", "defers")
    with app.app_context():
        get_runtime().queue = None
        post(app, keys["src"], "evt-1")
        return app, delivery_of("evt-1").id


def test_the_wait_counts_from_the_first_deferral_and_spaces_the_runs(make_app):
    app, delivery_id = always_deferring(make_app)
    with app.app_context():
        assert run_delivery(get_runtime(), delivery_id) == "deferred"
        first = delivery_of("evt-1").waiting_since
        assert first is not None

        # twenty minutes of waiting: the next run is at least a minute away, whatever the plugin asked
        db.session.execute(sa.update(Delivery).where(Delivery.id == delivery_id).values(
            waiting_since=first - timedelta(minutes=20), next_attempt_at=utcnow()))
        db.session.commit()
        assert run_delivery(get_runtime(), delivery_id) == "deferred"
        row = delivery_of("evt-1")
        assert row.waiting_since == first - timedelta(minutes=20)  # kept, not restarted
        assert 55 <= (row.next_attempt_at - utcnow()).total_seconds() <= 61

        # past HUB_MAX_DEFER_SECONDS of waiting: dead, and visible as such
        db.session.execute(sa.update(Delivery).where(Delivery.id == delivery_id).values(
            waiting_since=utcnow() - timedelta(hours=2), next_attempt_at=utcnow()))
        db.session.commit()
        assert run_delivery(get_runtime(), delivery_id) == "dead"
        row = delivery_of("evt-1")
        assert row.status == "dead" and "deferred for too long: waiting for something" in row.last_error
        assert row.waiting_since is None


def test_a_replayed_old_delivery_may_defer_again(make_app):
    """The wait used to count from the delivery's creation: replayed after HUB_MAX_DEFER_SECONDS,
    a delivery was dead at its first deferral."""
    app, delivery_id = always_deferring(make_app)
    with app.app_context():
        db.session.execute(sa.update(Delivery).where(Delivery.id == delivery_id).values(
            created_at=utcnow() - timedelta(days=30), status="dead", waiting_since=utcnow() - timedelta(days=29)))
        db.session.commit()
        assert replay(delivery_id)
        assert delivery_of("evt-1").waiting_since is None
        assert run_delivery(get_runtime(), delivery_id) == "deferred"
        row = delivery_of("evt-1")
        assert row.status == "retry" and row.last_error == "deferred: waiting for something"


class DisabledWhileRunning(Recorder):
    """Its integration is disabled while its hook runs (a Super Admin's click meanwhile)."""

    @hookimpl
    def on_stage_change(self, ctx, change):
        from hub import services

        services.set_enabled(get_runtime(), 1, "slow", False, "test")
        self.calls.append(change.to_stage_id)


def test_a_run_cancelled_meanwhile_is_logged_as_cancelled_not_as_outliving_its_lease(make_app, caplog):
    """The log blamed HUB_LEASE_SECONDS for a run of a few seconds that a revoke had cancelled."""
    import logging

    plugin = DisabledWhileRunning()
    app = make_app(plugins=[("src", FakeSource()), ("slow", plugin)], entry_points=False)
    keys = enable(app, "src", "slow")
    with app.app_context():
        get_runtime().queue = None
        post(app, keys["src"], "evt-1")
        delivery_id = delivery_of("evt-1").id
        with caplog.at_level(logging.WARNING, logger="hub.engine.runner"):
            assert run_delivery(get_runtime(), delivery_id) == "lost_lease"
        assert delivery_of("evt-1").status == "cancelled"
    said = [r.getMessage() for r in caplog.records if r.name == "hub.engine.runner"]
    assert said == [f"delivery {delivery_id} was cancelled while it ran (its integration was disabled or revoked): its outcome "
                    "(done) is not recorded; replay it once the integration is back"]
    assert plugin.calls == ["second"]
