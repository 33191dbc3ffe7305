"""Running deliveries: retries with backoff, dead after N attempts, one plugin never blocks another."""

import json
import threading

import pytest
import sqlalchemy as sa

from hub.engine.runner import (
    LOST_LEASE, MAX_ASKED_DELAY_SECONDS, backoff_seconds, claim, plugin_delay, replay, run_delivery,
)
from hub.engine.sweeper import release_orphans
from hub.errors import TemporaryError
from hub.extensions import db
from hub import hookimpl
from hub.runtime import get_runtime
from hub.store.models import Delivery, utcnow
from tests.support.engine import deliveries, drain, enable, expire_leases, one_delivery
from tests.support.plugins import AlwaysFails, DefersOnce, FailsPermanently, FakeSource, Recorder


def post_event(app, key, event_id="evt-1"):
    return app.test_client().post(f"/webhooks/src/{key}", data=json.dumps({"id": event_id}))


def test_failing_plugin_ends_dead_after_max_attempts_while_other_succeeds(make_app):
    failing, good = AlwaysFails(), Recorder()
    app = make_app({"DELIVERY_MAX_ATTEMPTS": 4},
                   plugins=[("src", FakeSource()), ("failing", failing), ("good", good)], entry_points=False)
    keys = enable(app, "src", "failing", "good")
    post_event(app, keys["src"])
    drain(app)
    by_plugin = {d.plugin: d for d in deliveries(app)}
    assert by_plugin["good"].status == "done" and len(good.calls) == 1
    assert by_plugin["failing"].status == "dead"
    assert by_plugin["failing"].attempts == 4 == failing.attempts
    assert "vendor exploded" in by_plugin["failing"].last_error


def test_replay_of_a_dead_delivery_runs_it_again(make_app):
    failing = AlwaysFails()
    app = make_app({"DELIVERY_MAX_ATTEMPTS": 2}, plugins=[("src", FakeSource()), ("failing", failing)],
                   entry_points=False)
    keys = enable(app, "src", "failing")
    post_event(app, keys["src"])
    drain(app)
    dead = deliveries(app)[0]
    assert dead.status == "dead" and failing.attempts == 2
    with app.app_context():
        assert replay(dead.id)
    drain(app)
    assert failing.attempts == 4
    assert deliveries(app)[0].status == "dead"


def test_deferred_does_not_use_up_an_attempt(make_app):
    plugin = DefersOnce()
    app = make_app(plugins=[("src", FakeSource()), ("defers", plugin)], entry_points=False)
    keys = enable(app, "src", "defers")
    post_event(app, keys["src"])
    drain(app)
    row = deliveries(app)[0]
    assert row.status == "done"
    assert row.attempts == 1 and row.deferrals == 1 and len(plugin.calls) == 2


def test_permanent_error_is_dead_at_once(make_app):
    plugin = FailsPermanently()
    app = make_app(plugins=[("src", FakeSource()), ("perm", plugin)], entry_points=False)
    keys = enable(app, "src", "perm")
    post_event(app, keys["src"])
    drain(app)
    row = deliveries(app)[0]
    assert row.status == "dead" and row.attempts == 1
    assert "invalid" in row.last_error


def test_claim_is_exclusive_under_concurrency(make_app):
    app = make_app(plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    keys = enable(app, "src", "rec")
    with app.app_context():
        runtime = get_runtime()
        runtime.queue = None  # keep the delivery pending
        post_event(app, keys["src"])
        delivery_id = db.session.scalar(sa.select(Delivery.id))
    tokens = []

    def grab():
        with app.app_context():
            tokens.append(claim(delivery_id, 60))

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len([t for t in tokens if t]) == 1


def test_expired_lease_is_claimed_again_and_the_old_holder_cannot_finish(make_app):
    recorder = Recorder()
    app = make_app(plugins=[("src", FakeSource()), ("rec", recorder)], entry_points=False)
    keys = enable(app, "src", "rec")
    with app.app_context():
        delivery_id = one_delivery(app, keys["src"])
        first = claim(delivery_id, 60)
        assert first and claim(delivery_id, 60) is None
        expire_leases()
        assert run_delivery(get_runtime(), delivery_id) == "done"
        row = db.session.get(Delivery, delivery_id)
        assert row.status == "done" and row.attempts == 2
    assert len(recorder.calls) == 1


def test_disabling_a_plugin_cancels_its_pending_deliveries(make_app):
    app = make_app(plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    keys = enable(app, "src", "rec")
    with app.app_context():
        get_runtime().queue = None
        post_event(app, keys["src"])
        from hub import services

        services.set_enabled(get_runtime(), 1, "rec", False, "test")
    assert deliveries(app)[0].status == "cancelled"


def test_backoff_grows_and_is_capped():
    config = {"RETRY_BASE_SECONDS": 2.0, "RETRY_MAX_SECONDS": 60.0}
    samples = [backoff_seconds(config, n) for n in (1, 2, 3, 10)]
    assert 1.0 <= samples[0] <= 2.0
    assert 2.0 <= samples[1] <= 4.0
    assert 4.0 <= samples[2] <= 8.0
    assert 30.0 <= samples[3] <= 60.0


def test_temporary_error_retry_after_sets_the_next_attempt(make_app):
    plugin = AlwaysFails(error=lambda message: TemporaryError(message, retry_after=120))
    app = make_app(plugins=[("src", FakeSource()), ("slow", plugin)], entry_points=False)
    keys = enable(app, "src", "slow")
    post_event(app, keys["src"])
    row = deliveries(app)[0]
    assert row.status == "retry"
    wait = (row.next_attempt_at - utcnow()).total_seconds()
    assert 100 < wait <= 120


class OverrunsItsLease(Recorder):
    """Runs so long that its lease runs out and the sweeper releases the delivery meanwhile."""

    @hookimpl
    def on_stage_change(self, ctx, change):
        expire_leases()
        assert len(release_orphans(get_runtime())) == 1
        super().on_stage_change(ctx, change)


def test_a_run_that_outlives_its_lease_records_nothing(make_app):
    plugin = OverrunsItsLease()
    app = make_app(plugins=[("src", FakeSource()), ("rec", plugin)], entry_points=False)
    keys = enable(app, "src", "rec")
    with app.app_context():
        delivery_id = one_delivery(app, keys["src"])
        assert run_delivery(get_runtime(), delivery_id) == LOST_LEASE
        row = db.session.get(Delivery, delivery_id, populate_existing=True)
        assert (row.status, row.finished_at, row.attempts) == ("retry", None, 1)
        assert "lease ran out" in row.last_error
    assert len(plugin.calls) == 1
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'status="done"' not in text


def test_an_orphan_that_used_every_attempt_is_not_run_again_but_ends_dead(make_app):
    recorder = Recorder()
    app = make_app({"DELIVERY_MAX_ATTEMPTS": 1}, plugins=[("src", FakeSource()), ("rec", recorder)],
                   entry_points=False)
    keys = enable(app, "src", "rec")
    with app.app_context():
        runtime = get_runtime()
        delivery_id = one_delivery(app, keys["src"])
        assert claim(delivery_id, 60)  # its only attempt; the worker dies holding it
        expire_leases()
        assert run_delivery(runtime, delivery_id) == "skipped"
        assert release_orphans(runtime) == []
        row = db.session.get(Delivery, delivery_id, populate_existing=True)
        assert (row.status, row.attempts) == ("dead", 1)
    assert recorder.calls == []


def test_a_retry_after_too_large_to_schedule_is_bounded_not_a_crash(make_app):
    """``Retry-After: 1e400`` parses as infinity; the runner used to raise OverflowError and leave
    the delivery running until its lease ran out, with no error recorded."""
    plugin = AlwaysFails(error=lambda message: TemporaryError(message, retry_after=float("inf")))
    app = make_app(plugins=[("src", FakeSource()), ("huge", plugin)], entry_points=False)
    keys = enable(app, "src", "huge")
    post_event(app, keys["src"])
    row = deliveries(app)[0]
    assert row.status == "retry" and "vendor exploded" in row.last_error
    assert (row.next_attempt_at - utcnow()).total_seconds() < 1  # the backoff instead (tests: 0.05 s at most)


def test_a_retry_after_of_years_waits_a_day():
    assert plugin_delay(1e14, fallback=1.0) == MAX_ASKED_DELAY_SECONDS == 86400
    assert plugin_delay(float("nan"), fallback=1.5) == 1.5
    assert plugin_delay(-3, fallback=1.5) == 1.5
    assert plugin_delay(30, fallback=1.5) == 30


class SlowButAlive(Recorder):
    """Runs past its lease (a rate limiter, a vendor's timeouts), while the sweeper looks for orphans."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self.released = None

    @hookimpl
    def on_stage_change(self, ctx, change):
        import time

        time.sleep(self.seconds)
        self.released = release_orphans(get_runtime())
        super().on_stage_change(ctx, change)


def test_a_slow_run_keeps_its_lease_and_is_not_run_twice(make_app):
    """The lease ran out under a slow but live run: the sweeper handed the delivery to another
    worker while the first still ran, and both made their vendor calls (a Lever note twice)."""
    plugin = SlowButAlive(seconds=1.5)
    app = make_app({"LEASE_SECONDS": 0.6}, plugins=[("src", FakeSource()), ("slow", plugin)], entry_points=False)
    keys = enable(app, "src", "slow")
    with app.app_context():
        delivery_id = one_delivery(app, keys["src"])
        assert run_delivery(get_runtime(), delivery_id) == "done"
        row = db.session.get(Delivery, delivery_id, populate_existing=True)
        assert (row.status, row.attempts, row.lease_token) == ("done", 1, None)
    assert plugin.released == [] and len(plugin.calls) == 1


class NeedsTheLock(Recorder):
    @hookimpl
    def on_stage_change(self, ctx, change):
        with ctx.lock("invite:1", ttl=120, wait=0.1):
            super().on_stage_change(ctx, change)


def test_a_lock_held_by_a_dead_worker_delays_the_delivery_without_using_its_attempts(make_app):
    """A busy lock used to cost an attempt a second: the delivery was dead long before the dead
    worker's hold on the lock ran out."""
    from datetime import timedelta

    from hub.store.models import Lock

    plugin = NeedsTheLock()
    app = make_app({"DELIVERY_MAX_ATTEMPTS": 2}, plugins=[("src", FakeSource()), ("locked", plugin)],
                   entry_points=False)
    keys = enable(app, "src", "locked")
    with app.app_context():
        db.session.add(Lock(name="1:locked:invite:1", holder="a-worker-that-died", expires_at=utcnow() + timedelta(minutes=2)))
        db.session.commit()
        delivery_id = one_delivery(app, keys["src"])
        for _ in range(3):  # more runs than attempts
            db.session.execute(sa.update(Delivery).where(Delivery.id == delivery_id).values(next_attempt_at=utcnow()))
            db.session.commit()
            assert run_delivery(get_runtime(), delivery_id) == "deferred"
        row = db.session.get(Delivery, delivery_id, populate_existing=True)
        assert (row.status, row.attempts, row.deferrals) == ("retry", 0, 3)
        assert (row.next_attempt_at - utcnow()).total_seconds() > 20  # a quarter of the lock's ttl
    assert plugin.calls == []


def test_a_short_retry_after_does_not_cut_the_backoff(make_app):
    plugin = AlwaysFails(error=lambda message: TemporaryError(message, retry_after=0.001))
    app = make_app({"RETRY_BASE_SECONDS": 30, "RETRY_MAX_SECONDS": 600, "DELIVERY_MAX_ATTEMPTS": 5},
                   plugins=[("src", FakeSource()), ("quick", plugin)], entry_points=False)
    keys = enable(app, "src", "quick")
    post_event(app, keys["src"])
    row = deliveries(app)[0]
    assert row.status == "retry"
    assert (row.next_attempt_at - utcnow()).total_seconds() >= 14  # the backoff (30 s x [0.5, 1]), not 1 ms


class DisabledMidRun(Recorder):
    """An admin disables the integration while the hook runs; the hook then calls its vendor."""

    def __init__(self):
        super().__init__()
        self.error = None

    @hookimpl
    def on_stage_change(self, ctx, change):
        from hub import services

        services.set_enabled(get_runtime(), ctx.workspace_id, ctx.plugin_name, False, "admin@example.com")
        try:
            ctx.http.get("http://127.0.0.1:9/never-called")
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            self.error = exc
            raise


def test_a_disable_stops_a_run_in_flight_before_its_next_vendor_call(make_app):
    """A run that started before a disable (or a revoke) went on calling the vendor with the old
    credentials; now its next call is refused, and the delivery stays cancelled (replayable)."""
    from hub.errors import PermanentError

    plugin = DisabledMidRun()
    app = make_app(plugins=[("src", FakeSource()), ("mid", plugin)], entry_points=False)
    keys = enable(app, "src", "mid")
    with app.app_context():
        delivery_id = one_delivery(app, keys["src"])
        assert run_delivery(get_runtime(), delivery_id) == LOST_LEASE
        row = db.session.get(Delivery, delivery_id, populate_existing=True)
        assert row.status == "cancelled"
    assert isinstance(plugin.error, PermanentError) and "disabled or disconnected" in str(plugin.error)


def test_a_lock_taken_by_a_run_whose_worker_died_is_free_once_that_run_s_lease_ran_out(make_app):
    """It used to stay taken for its whole ttl (120 s for an invitation): a worker killed while it
    held one, again and again, left that invitation waiting minutes each time."""
    from datetime import timedelta

    from hub.store.models import Lock

    plugin = NeedsTheLock()
    app = make_app(plugins=[("src", FakeSource()), ("locked", plugin)], entry_points=False)
    keys = enable(app, "src", "locked")
    with app.app_context():
        delivery_id = one_delivery(app, keys["src"])
        dead_run = "a" * 32  # the run of a worker that died: still "running", its lease ran out
        db.session.execute(sa.update(Delivery).where(Delivery.id == delivery_id).values(
            status="running", lease_token=dead_run, lease_until=utcnow() - timedelta(seconds=1), attempts=1))
        db.session.add(Lock(name="1:locked:invite:1", holder=f"d:{delivery_id}:{dead_run}:0badf00d",
                            expires_at=utcnow() + timedelta(minutes=2)))
        db.session.commit()
        assert run_delivery(get_runtime(), delivery_id) == "done"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Lock)) == 0  # released after use
    assert len(plugin.calls) == 1


def test_a_lock_lives_as_long_as_the_delivery_run_that_took_it_holds_its_lease(make_app):
    from datetime import timedelta

    from hub.context import _try_lock
    from hub.store.models import Lock

    app = make_app(plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    keys = enable(app, "src", "rec")
    with app.app_context():
        delivery_id = one_delivery(app, keys["src"])
        run = "b" * 32
        db.session.execute(sa.update(Delivery).where(Delivery.id == delivery_id).values(
            status="running", lease_token=run, lease_until=utcnow() + timedelta(seconds=30)))
        # past its ttl, but the run that took it is alive (its worker renews the lease)
        db.session.add(Lock(name="held", holder=f"d:{delivery_id}:{run}:12345678",
                            expires_at=utcnow() - timedelta(minutes=5)))
        # outside deliveries a lock lasts its ttl, as before
        db.session.add(Lock(name="page", holder="c" * 32, expires_at=utcnow() + timedelta(minutes=5)))
        db.session.add(Lock(name="page-expired", holder="d" * 32, expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert not _try_lock("held", "another", 60)
        assert not _try_lock("page", "another", 60)
        assert _try_lock("page-expired", "another", 60)
        # a disable cancels the run under its worker, which may still be in a vendor call: the
        # lock keeps its ttl
        db.session.execute(sa.update(Delivery).where(Delivery.id == delivery_id).values(
            status="cancelled", lease_token=None, lease_until=None))
        db.session.execute(sa.update(Lock).where(Lock.name == "held").values(
            expires_at=utcnow() + timedelta(minutes=1)))
        db.session.commit()
        assert not _try_lock("held", "another", 60)
        db.session.execute(sa.update(Lock).where(Lock.name == "held").values(
            expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert _try_lock("held", "another", 60)
        assert db.session.scalar(sa.select(Lock.holder).where(Lock.name == "held")) == "another"
        # a run that ended (its outcome recorded: the lease token cleared) frees its lock at once
        db.session.execute(sa.update(Delivery).where(Delivery.id == delivery_id).values(status="done"))
        db.session.add(Lock(name="ended", holder=f"d:{delivery_id}:{run}:87654321",
                            expires_at=utcnow() + timedelta(minutes=5)))
        db.session.commit()
        assert _try_lock("ended", "another", 60)


def test_a_lock_asked_with_wait_zero_is_tried_once(make_app, monkeypatch):
    """``ctx.lock(name, wait=0)`` is how a plugin asks whether a lock is free (docs/plugin-guide.md):
    held, it raises ``Deferred`` after a single try, without sleeping; free, it is taken."""
    import hub.context as context_module
    from hub.errors import Deferred

    app = make_app(plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    enable(app, "src", "rec")
    tries = []
    real_try = context_module._try_lock
    monkeypatch.setattr(context_module, "_try_lock", lambda *a, **k: tries.append(a[0]) or real_try(*a, **k))
    monkeypatch.setattr(context_module.time, "sleep", lambda seconds: pytest.fail("wait=0 must not sleep"))
    with app.app_context():
        holder, asker = get_runtime().context(1, "rec"), get_runtime().context(1, "rec")
        with holder.lock("invite:7", ttl=60):
            with pytest.raises(Deferred):
                with asker.lock("invite:7", ttl=60, wait=0):
                    pytest.fail("a held lock was entered")
            assert tries == ["1:rec:invite:7", "1:rec:invite:7"]  # the holder's take, then one try
        with asker.lock("invite:7", ttl=60, wait=0):
            assert len(tries) == 3
