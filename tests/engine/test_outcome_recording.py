"""Recording a delivery's outcome when the database fails around it (``hub.engine.runner``):
a write that committed although its answer was lost counts as recorded; a worker that stops
gives up waiting for the database at once; a failure after the outcome is recorded, or between
the claim and the run, is logged as what it is. (The database away for real, behind a proxy:
tests/reliability/test_database_outage.py.)"""

from __future__ import annotations

import logging
import threading
import time

import pytest
import sqlalchemy as sa

from hub.engine import runner
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Delivery
from tests.support.engine import enable, one_delivery
from tests.support.plugins import FakeSource, Recorder


def connection_lost() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))


def is_outcome(statement) -> bool:
    text = str(statement)
    return text.startswith("UPDATE deliveries") and "finished_at" in text


@pytest.fixture
def one(make_app):
    """An app with one delivery to ``rec`` waiting (no queue), inside its app context: (app, id, recorder)."""
    recorder = Recorder()
    app = make_app({"LEASE_SECONDS": 30}, plugins=[("src", FakeSource()), ("rec", recorder)], entry_points=False)
    keys = enable(app, "src", "rec")
    with app.app_context():
        yield app, one_delivery(app, keys["src"]), recorder


def test_an_outcome_whose_commit_went_through_although_its_answer_was_lost_counts_as_recorded(one, monkeypatch,
                                                                                              caplog):
    app, delivery_id, recorder = one
    real_execute, real_commit = db.session.execute, db.session.commit
    pending = {"outcome": False, "lost": 0}

    def execute(statement, *args, **kwargs):
        if is_outcome(statement):
            pending["outcome"] = True
        return real_execute(statement, *args, **kwargs)

    def commit():
        real_commit()
        if pending["outcome"] and not pending["lost"]:  # committed at the server; the answer never came
            pending["lost"] += 1
            raise connection_lost()

    monkeypatch.setattr(db.session, "execute", execute)
    monkeypatch.setattr(db.session, "commit", commit)
    with caplog.at_level(logging.INFO, logger="hub.engine.runner"):
        answer = runner.run_delivery(get_runtime(), delivery_id)
    monkeypatch.undo()
    assert pending["lost"] == 1
    assert answer == "done"  # not LOST_LEASE: the write of the try that "failed" is the outcome
    row = db.session.get(Delivery, delivery_id)
    assert (row.status, row.attempts, row.lease_token) == ("done", 1, None)
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "ran longer than its lease" in m], messages
    assert any("once the database was back" in m for m in messages), messages
    assert len(recorder.calls) == 1


def test_a_worker_that_stops_gives_up_waiting_for_the_database_at_once(one, monkeypatch):
    """The outcome cannot be written (the database away) and the worker is told to stop: the
    wait ends then, not after HUB_LEASE_SECONDS (30 s here), so a graceful stop is not held up;
    the delivery stays running under its lease, which brings it back."""
    app, delivery_id, recorder = one
    real_execute = db.session.execute

    def execute(statement, *args, **kwargs):
        if is_outcome(statement):
            raise connection_lost()
        return real_execute(statement, *args, **kwargs)

    monkeypatch.setattr(db.session, "execute", execute)
    runtime = get_runtime()
    stopper = threading.Timer(0.6, runtime.stopping.set)
    started = time.monotonic()
    stopper.start()
    try:
        with pytest.raises(sa.exc.OperationalError):
            runner.run_delivery(runtime, delivery_id)
    finally:
        stopper.cancel()
        runtime.stopping.clear()
    waited = time.monotonic() - started
    monkeypatch.undo()
    assert 0.5 < waited < 5, waited
    db.session.rollback()
    row = db.session.get(Delivery, delivery_id)
    assert (row.status, row.attempts) == ("running", 1) and row.lease_token is not None


def test_a_failure_after_the_outcome_is_recorded_is_logged_as_such(one, monkeypatch, caplog):
    """Done, then waking the deliveries deferred on the same subject fails: the answer is "done",
    and the line says so, not that the delivery runs again."""
    app, delivery_id, recorder = one

    def wake_fails(*args, **kwargs):
        raise connection_lost()

    monkeypatch.setattr(runner, "_wake_deferred_on_subject", wake_fails)
    with caplog.at_level(logging.INFO, logger="hub.engine.runner"):
        answer = runner.run_delivery(get_runtime(), delivery_id, contain_errors=True)
    assert answer == "done"
    assert db.session.get(Delivery, delivery_id).status == "done"
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith(f"delivery {delivery_id} done; waking the deliveries deferred on") and
               "the database is unavailable" in m for m in messages), messages
    assert not [m for m in messages if "stopped before its outcome was recorded" in m], messages


def test_a_delivery_claimed_but_not_read_says_it_runs_again_after_its_lease(one, monkeypatch, caplog):
    app, delivery_id, recorder = one
    real_get = db.session.get

    def get(entity, ident, *args, **kwargs):
        if entity is Delivery:
            raise connection_lost()
        return real_get(entity, ident, *args, **kwargs)

    monkeypatch.setattr(db.session, "get", get)
    monkeypatch.setattr(runner.claim_log, "filters", [])
    with caplog.at_level(logging.INFO, logger="hub.engine.runner"):
        answer = runner.run_delivery(get_runtime(), delivery_id, contain_errors=True)
    monkeypatch.undo()
    assert answer == runner.FAILED
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if "could not be" in m or "could not" in m] == [
        f"delivery {delivery_id} was claimed but could not be read: the database is unavailable: it runs again "
        "once its lease (HUB_LEASE_SECONDS) has run out"]
    row = db.session.get(Delivery, delivery_id)
    assert (row.status, row.attempts) == ("running", 1)
    assert recorder.calls == []
