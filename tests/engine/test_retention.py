"""Retention settings at their edges: ``RETENTION_DAYS`` other than the default, the dedupe
window's floor of 7 days (``DEDUPE_DAYS`` below it), and the purge run by every worker's periodic
work once an hour."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from hub.engine import sweeper
from hub.engine.ingest import dedupe_window
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Event, EventKey, utcnow
from tests.support.engine import drain, enable
from tests.support.plugins import FakeSource, Recorder


def _hub(make_app, **config):
    recorder = Recorder()
    app = make_app(config, plugins=[("src", FakeSource()), ("rec", recorder)], entry_points=False)
    keys = enable(app, "src", "rec")
    return app, app.test_client(), f"/webhooks/src/{keys['src']}", recorder


def _age(app, external_id: str, days: float) -> None:
    with app.app_context():
        then = utcnow() - timedelta(days=days)
        db.session.execute(sa.update(Event).where(Event.external_id == external_id).values(received_at=then))
        db.session.execute(sa.update(EventKey).where(EventKey.key == external_id).values(seen_at=then))
        db.session.commit()


def _kept(app) -> tuple[list[str], list[str]]:
    with app.app_context():
        return (sorted(db.session.scalars(sa.select(Event.external_id))),
                sorted(db.session.scalars(sa.select(EventKey.key))))


def test_a_shorter_retention_purges_events_older_than_it(make_app):
    app, client, url, _ = _hub(make_app, RETENTION_DAYS="3")
    for external_id in ("four-days", "two-days"):
        client.post(url, data=json.dumps({"id": external_id}))
    drain(app)
    _age(app, "four-days", 4)
    _age(app, "two-days", 2)
    with app.app_context():
        assert sweeper.purge(get_runtime()) == 1
    events, keys = _kept(app)
    assert events == ["two-days"]
    assert keys == ["four-days", "two-days"]  # the purged event's id is still remembered: window 7 days


def test_the_dedupe_window_is_at_least_seven_days_whatever_dedupe_days_says(make_app):
    app, client, url, recorder = _hub(make_app, RETENTION_DAYS="3", DEDUPE_DAYS="1")
    with app.app_context():
        assert dedupe_window(get_runtime().config) == timedelta(days=7)
    for external_id in ("six-days", "eight-days"):
        client.post(url, data=json.dumps({"id": external_id}))
    drain(app)
    _age(app, "six-days", 6)
    _age(app, "eight-days", 8)
    with app.app_context():
        assert sweeper.purge(get_runtime()) == 2  # both events are past the 3 days of retention
    assert _kept(app) == ([], ["six-days"])  # only the key within 7 days stays
    calls = len(recorder.calls)

    again = client.post(url, data=json.dumps({"id": "six-days"}))  # a redelivery on day 6: still known
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    later = client.post(url, data=json.dumps({"id": "eight-days"}))  # past the window: new again
    assert later.status_code == 200 and later.json["status"] == "accepted"
    drain(app)
    assert len(recorder.calls) == calls + 1


def test_every_workers_periodic_work_purges_once_an_hour(make_app, monkeypatch):
    app, client, url, _ = _hub(make_app)
    clock = [1_000_000.0]
    monkeypatch.setattr(sweeper.time, "monotonic", lambda: clock[0])
    client.post(url, data=json.dumps({"id": "first"}))
    drain(app)
    _age(app, "first", 31)
    with app.app_context():
        sweeper.periodic_work(get_runtime())
    assert _kept(app)[0] == []

    client.post(url, data=json.dumps({"id": "second"}))
    drain(app)
    _age(app, "second", 31)
    clock[0] += 3599
    with app.app_context():
        sweeper.periodic_work(get_runtime())
    assert _kept(app)[0] == ["second"]  # within the hour: not purged yet
    clock[0] += 2
    with app.app_context():
        sweeper.periodic_work(get_runtime())
    assert _kept(app)[0] == []
