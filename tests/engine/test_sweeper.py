"""Periodic work: orphaned deliveries are found, old data is purged, recent dedupe keys are kept."""

import json
import logging
from datetime import timedelta

import sqlalchemy as sa

from hub.engine.runner import _finish, claim, run_delivery
from hub.engine.sweeper import due_deliveries, purge, sweep
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import D_PENDING, Delivery, Event, EventKey, WebhookLog, utcnow
from tests.support.engine import drain, enable, expire_leases, one_delivery
from tests.support.plugins import FakeSource, Recorder


def test_a_delivery_never_picked_up_is_found_by_the_sweeper(make_app):
    recorder = Recorder()
    app = make_app(plugins=[("src", FakeSource()), ("rec", recorder)], entry_points=False)
    keys = enable(app, "src", "rec")
    with app.app_context():
        runtime = get_runtime()
        queue, runtime.queue = runtime.queue, None  # the wake-up is lost
        app.test_client().post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "e1"}))
        assert recorder.calls == []
        assert len(due_deliveries()) == 1
        runtime.queue = queue
        assert sweep(runtime) == 1  # immediate queue: the sweep runs it
    assert len(recorder.calls) == 1
    assert [d.status for d in db_rows(app)] == ["done"]


class BusyQueue:
    """A queue that still holds wake-ups (the sweeper only asks how many)."""

    def pending_count(self) -> int:
        return 5


def busy_queue_with_one_delivery(app, monkeypatch, source_key: str, event_id: str):
    """In the current app context: one delivery posted from ``src``, a queue that still holds
    wake-ups, and a record of what gets woken. Returns ``(runtime, delivery id, woken)``."""
    runtime = get_runtime()
    delivery_id = one_delivery(app, source_key, event_id)
    woken: list[list[int]] = []
    monkeypatch.setattr(runtime, "wake", lambda ids: woken.append(list(ids)))
    runtime.queue = BusyQueue()
    return runtime, delivery_id, woken


def worker_dies_holding(delivery_id: int) -> str:
    """A worker claims the delivery and dies: its lease runs out. Returns the dead holder's token."""
    token = claim(delivery_id, 60)
    assert token
    expire_leases()
    return token


def test_an_orphaned_delivery_is_woken_once_and_its_dead_holder_cannot_finish(make_app, monkeypatch):
    recorder = Recorder()
    app = make_app(plugins=[("src", FakeSource()), ("rec", recorder)], entry_points=False)
    keys = enable(app, "src", "rec")
    with app.app_context():
        runtime, delivery_id, woken = busy_queue_with_one_delivery(app, monkeypatch, keys["src"], "e1")
        dead_holder = worker_dies_holding(delivery_id)
        assert sweep(runtime) == 1
        assert sweep(runtime) == 0  # released once: not re-queued while the queue is busy
        assert woken == [[delivery_id]]
        row = db.session.get(Delivery, delivery_id, populate_existing=True)
        assert (row.status, row.lease_token, row.attempts) == ("retry", None, 1)
        assert "lease ran out" in row.last_error
        assert not _finish(delivery_id, dead_holder, status="done")

        runtime.queue = None
        assert run_delivery(runtime, delivery_id) == "done"
        row = db.session.get(Delivery, delivery_id, populate_existing=True)
        assert (row.status, row.attempts) == ("done", 2)
    assert len(recorder.calls) == 1


def test_a_stalled_delivery_is_woken_even_while_the_queue_is_busy_once_per_period(make_app, monkeypatch):
    app = make_app({"STALLED_AFTER_SECONDS": 60}, plugins=[("src", FakeSource()), ("rec", Recorder())],
                   entry_points=False)
    keys = enable(app, "src", "rec")
    with app.app_context():
        runtime, delivery_id, woken = busy_queue_with_one_delivery(app, monkeypatch, keys["src"], "lost-wake-up")

        def due_since(seconds: float) -> None:
            db.session.execute(sa.update(Delivery).values(next_attempt_at=utcnow() - timedelta(seconds=seconds)))
            db.session.commit()

        due_since(30)  # due, but not for long: its wake-up is probably still queued
        assert sweep(runtime) == 0
        due_since(61)  # due for longer than STALLED_AFTER_SECONDS: its wake-up was lost
        assert sweep(runtime) == 1
        assert sweep(runtime) == 0  # woken once per period, not at every sweep
        assert woken == [[delivery_id]]
        row = db.session.get(Delivery, delivery_id, populate_existing=True)
        assert row.status == "pending" and utcnow() - row.next_attempt_at < timedelta(seconds=5)  # due again now

        runtime.queue = None
        assert run_delivery(runtime, delivery_id) == "done"
        due_since(3600)  # a finished delivery is never woken again
        runtime.queue = BusyQueue()
        assert sweep(runtime) == 0


def test_a_delivery_whose_worker_dies_on_every_attempt_ends_dead(make_app, monkeypatch):
    app = make_app({"DELIVERY_MAX_ATTEMPTS": 2}, plugins=[("src", FakeSource()), ("rec", Recorder())],
                   entry_points=False)
    keys = enable(app, "src", "rec")
    with app.app_context():
        runtime, delivery_id, woken = busy_queue_with_one_delivery(app, monkeypatch, keys["src"], "poison")
        for _ in range(2):  # its worker dies holding it, twice
            worker_dies_holding(delivery_id)
            sweep(runtime)
        assert woken == [[delivery_id]]  # after the first death only
        row = db.session.get(Delivery, delivery_id, populate_existing=True)
        assert (row.status, row.attempts, row.lease_token) == ("dead", 2, None)
        assert row.finished_at is not None and "during attempt 2 of 2 (lease ran out)" in row.last_error
        assert claim(delivery_id, 60) is None
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'hub_deliveries_finished_total{hook="on_stage_change",plugin="rec",status="orphaned"} 1.0' in text
    assert 'hub_deliveries_finished_total{hook="on_stage_change",plugin="rec",status="dead"} 1.0' in text


def db_rows(app):
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Delivery)))
        db.session.expunge_all()
        return rows


def test_purge_removes_old_finished_events_but_keeps_dedupe_keys_for_a_week(make_app, caplog):
    app = make_app(plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    keys = enable(app, "src", "rec")
    client = app.test_client()
    client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "old"}))
    client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "new"}))
    drain(app)
    with app.app_context():
        old = utcnow() - timedelta(days=31)
        db.session.execute(sa.update(Event).where(Event.external_id == "old").values(received_at=old))
        db.session.execute(sa.update(EventKey).where(EventKey.key == "old").values(seen_at=old))
        db.session.execute(sa.update(WebhookLog).values(received_at=old))
        db.session.commit()
        with caplog.at_level(logging.INFO, logger="hub.engine.sweeper"):
            assert purge(get_runtime()) == 1
        assert list(db.session.scalars(sa.select(Event.external_id))) == ["new"]
        assert db.session.scalar(sa.select(sa.func.count(Delivery.id))) == 1
        assert db.session.scalar(sa.select(sa.func.count(WebhookLog.id))) == 0
        assert list(db.session.scalars(sa.select(EventKey.key))) == ["new"]
    # a redelivery of the purged event within the dedupe window would still be a duplicate if its
    # key were young: keys are kept for HUB_DEDUPE_DAYS (at least 7) independently of events
    answer = client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "new"}))
    assert answer.json["status"] == "duplicate"
    # the operator sees that retention ran, and what it removed (it used to leave no trace)
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retention purge:")]
    assert said == ["retention purge: 1 events (with their deliveries) older than 30 days, 2 webhook log lines, "
                    "1 dedupe keys older than the dedupe window removed"]


def age_and_purge(app, days: int) -> int:
    """Make every event and dedupe key ``days`` old, then run the purge; returns its count."""
    with app.app_context():
        then = utcnow() - timedelta(days=days)
        db.session.execute(sa.update(Event).values(received_at=then))
        db.session.execute(sa.update(EventKey).values(seen_at=then))
        db.session.commit()
        return purge(get_runtime())


def test_an_event_still_kept_stays_a_duplicate_after_its_dedupe_days(make_app):
    """Keys live as long as their event is kept: a redelivery then answers "duplicate", where a
    fresh key would collide with the kept event's unique id."""
    app = make_app(plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    keys = enable(app, "src", "rec")
    client = app.test_client()
    client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "kept"}))
    drain(app)
    assert age_and_purge(app, 10) == 0  # DEDUPE_DAYS 8 < 10 < RETENTION_DAYS 30
    with app.app_context():
        assert list(db.session.scalars(sa.select(EventKey.key))) == ["kept"]
    answer = client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "kept"}))
    assert answer.status_code == 200 and answer.json["status"] == "duplicate"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 1
        assert db.session.scalar(sa.select(sa.func.count(Delivery.id))) == 1


def test_an_event_still_kept_is_recognised_by_its_alias_id_too(make_app):
    """Every id of a kept event stays remembered (the dedupe window is at least the retention):
    a redelivery known only by an alias (Lever: a body without "id", the same token) is a
    duplicate, not a second event whose deliveries run again."""
    recorder = Recorder()
    app = make_app(plugins=[("src", FakeSource()), ("rec", recorder)], entry_points=False)
    keys = enable(app, "src", "rec")
    client = app.test_client()
    client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "evt-1", "aliases": ["token-1"]}))
    drain(app)
    assert age_and_purge(app, 10) == 0  # DEDUPE_DAYS 8 < 10 < RETENTION_DAYS 30
    with app.app_context():
        assert sorted(db.session.scalars(sa.select(EventKey.key))) == ["evt-1", "token-1"]
    answer = client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "token-1"}))
    drain(app)
    assert answer.status_code == 200 and answer.json["status"] == "duplicate"
    assert len(recorder.calls) == 1


def test_metrics_count_webhooks_and_deliveries(make_app):
    app = make_app(plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    keys = enable(app, "src", "rec")
    client = app.test_client()
    client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "e1"}))
    client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "e1"}))
    client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"bad": True}))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'hub_webhooks_received_total{outcome="accepted",reason="",source="src"} 1.0' in text
    assert 'hub_webhooks_received_total{outcome="duplicate",reason="",source="src"} 1.0' in text
    assert 'hub_webhooks_received_total{outcome="rejected",reason="webhook_rejected",source="src"} 1.0' in text
    assert 'hub_deliveries_finished_total{hook="on_stage_change",plugin="rec",status="done"} 1.0' in text
    assert "hub_deliveries_pending 0.0" in text


def test_json_logs_carry_event_and_delivery_ids(make_app, capsys):
    app = make_app({"LOG_FORMAT": "json"}, plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    keys = enable(app, "src", "rec")
    app.test_client().post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "e1"}))
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    done = [line for line in lines if line["message"].startswith("delivery") and line["message"].endswith("done")]
    assert done and done[0]["event_id"] == 1 and done[0]["delivery_id"] == 1 and done[0]["workspace_id"] == 1
    ingested = [line for line in lines if "ingested" in line["message"]]
    assert ingested[0]["event_id"] == 1


def test_a_delivery_replayed_while_the_purge_runs_is_kept_with_its_event(make_app):
    """The purge reads the old finished events, then deletes them. An admin's replay that commits in
    between makes one of their deliveries pending again: it must survive, with its event, or the
    replay the admin was told of is lost. (On SQLite the purge holds the write lock from its first
    statement, so the replay cannot come in between: it waits, then finds nothing to replay.)"""
    app = make_app(plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    keys = enable(app, "src", "rec")
    client = app.test_client()
    for event_id in ("replayed", "gone"):
        client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": event_id}))
    drain(app)
    with app.app_context():
        replayed = db.session.scalar(sa.select(Delivery.id).join(Event, Event.id == Delivery.event_id)
                                     .where(Event.external_id == "replayed"))
        db.session.execute(sa.update(Event).values(received_at=utcnow() - timedelta(days=31)))
        db.session.commit()
        engine = db.engine
        replay_outcome = []

        def replay_first(conn, cursor, statement, parameters, context, executemany):
            if not replay_outcome and statement.lstrip().upper().startswith("DELETE FROM DELIVERIES"):
                replay_outcome.append("tried")
                with engine.connect() as other:  # the admin's request, on a connection of its own
                    if engine.dialect.name == "sqlite":  # on the driver's connection: no transaction begun
                        other.connection.driver_connection.execute("PRAGMA busy_timeout = 100")
                    try:
                        other.execute(sa.update(Delivery).where(Delivery.id == replayed).values(status=D_PENDING))
                        other.commit()
                        replay_outcome.append("committed")
                    except sa.exc.OperationalError:
                        replay_outcome.append("locked out")

        sa.event.listen(engine, "before_cursor_execute", replay_first)
        try:
            purged = purge(get_runtime())
        finally:
            sa.event.remove(engine, "before_cursor_execute", replay_first)
        events = list(db.session.scalars(sa.select(Event.external_id)))
        deliveries = [(d.id, d.status) for d in db.session.scalars(sa.select(Delivery))]
    if engine.dialect.name == "sqlite":
        assert replay_outcome == ["tried", "locked out"]
        assert (purged, events, deliveries) == (2, [], [])
    else:
        assert replay_outcome == ["tried", "committed"]
        assert (purged, events, deliveries) == (1, ["replayed"], [(replayed, D_PENDING)])


def test_a_purge_goes_on_in_batches_until_everything_old_is_gone(make_app, monkeypatch):
    """One batch an hour could not keep up above 5,000 events an hour: old events piled up."""
    import hub.engine.sweeper as sweeper

    monkeypatch.setattr(sweeper, "PURGE_BATCH", 4)
    app = make_app(plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    keys = enable(app, "src", "rec")
    client = app.test_client()
    for n in range(10):
        client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": f"old-{n}"}))
    drain(app)
    assert age_and_purge(app, 40) == 10
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(Delivery.id))) == 0


class AwayQueue:
    """A queue whose Redis does not answer (or, once ``back``, answers with nothing queued)."""

    back = False

    def pending_count(self) -> int:
        if not self.back:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return 0


def _one_delivery_stored_while_the_queue_is_away(make_app, monkeypatch):
    """One delivery from ``src`` stored while the queue does not answer, and a record of what gets
    woken: ``(the app's context, pushed: the caller pops it; runtime, delivery id, woken)``."""
    app = make_app(plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    keys = enable(app, "src", "rec")
    context = app.app_context()
    context.push()
    runtime = get_runtime()
    delivery_id = one_delivery(app, keys["src"])
    woken: list[list[int]] = []
    monkeypatch.setattr(runtime, "wake", lambda ids: woken.append(list(ids)))
    runtime.queue = AwayQueue()
    return context, runtime, delivery_id, woken


def test_the_end_of_a_queue_outage_is_logged_once_and_what_waited_is_woken(make_app, monkeypatch, caplog):
    """An operator's walk-through: the outage was logged, its end never was."""
    import logging

    context, runtime, delivery_id, woken = _one_delivery_stored_while_the_queue_is_away(make_app, monkeypatch)
    try:
        away = runtime.queue
        caplog.set_level(logging.INFO, logger="hub.engine.sweeper")
        assert sweep(runtime) == 0 and sweep(runtime) == 0 and woken == []
        assert not [r for r in caplog.records if "answers again" in r.getMessage()]
        away.back = True
        assert sweep(runtime) == 1 and woken == [[delivery_id]]
        sweep(runtime)
    finally:
        context.pop()
    said = [r.getMessage() for r in caplog.records if "answers again" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("the queue (Redis) answers again, after ")


def test_right_after_a_queue_outage_everything_due_is_woken_even_if_new_wake_ups_are_queued(make_app, monkeypatch):
    """New webhooks queue their wake-ups as soon as Redis is back: the sweeper then woke only the
    deliveries stalled for STALLED_AFTER_SECONDS, and those stored during the outage waited that
    long (a review)."""
    context, runtime, delivery_id, woken = _one_delivery_stored_while_the_queue_is_away(make_app, monkeypatch)
    try:
        assert sweep(runtime) == 0
        runtime.queue = BusyQueue()  # back, already holding new webhooks' wake-ups
        assert sweep(runtime) == 1 and woken == [[delivery_id]]
        assert sweep(runtime) == 0  # then as usual: only the stalled ones while the queue is busy
    finally:
        context.pop()
