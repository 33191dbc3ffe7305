"""A worker's log says in words when the database or the queue is away, besides the traceback."""

from __future__ import annotations

import logging

import redis
import sqlalchemy as sa

from hub.engine import sweeper
from hub.engine.queue import Worker
from hub.logging_setup import failure_cause


def _database_down() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))


def test_failure_cause_names_the_outage():
    assert failure_cause(_database_down()) == ": the database is unavailable"
    assert failure_cause(redis.exceptions.ConnectionError("refused")) == ": Redis (the queue) is unavailable"
    assert failure_cause(ValueError("a bug")) == ""

    class Deadlock(Exception):
        sqlstate = "40P01"

    # a deadlock is no outage (running the work again clears it), as the ingress judges it too
    assert failure_cause(sa.exc.OperationalError("UPDATE", {}, Deadlock("deadlock detected"))) == ""


def test_the_sweeper_says_the_database_is_unavailable(make_app, monkeypatch, caplog):
    app = make_app({"SWEEP_INTERVAL_SECONDS": "0.3"})
    worker = Worker(app, workers=1)

    def periodic_work(runtime):
        worker._stop.set()  # one round
        raise _database_down()

    monkeypatch.setattr(sweeper, "periodic_work", periodic_work)
    with caplog.at_level(logging.ERROR, logger="hub.engine.queue"):
        worker._sweep_loop()
    said = [r.getMessage() for r in caplog.records if r.name == "hub.engine.queue"]
    assert said == ["periodic work failed: the database is unavailable; trying again in 0.3s"]


def test_the_sweeper_says_when_its_work_runs_again_after_an_outage(make_app, monkeypatch, caplog):
    app = make_app({"SWEEP_INTERVAL_SECONDS": "0.01"})
    worker = Worker(app, workers=1)
    rounds = iter([_database_down(), _database_down(), None, None])

    def periodic_work(runtime):
        failure = next(rounds, None)
        if failure is not None:
            raise failure
        succeeded.append(1)
        if len(succeeded) == 2:  # two rounds after the outage: the line is said once
            worker._stop.set()

    succeeded: list[int] = []
    monkeypatch.setattr(sweeper, "periodic_work", periodic_work)
    with caplog.at_level(logging.INFO, logger="hub.engine.queue"):
        worker._sweep_loop()
    # (the failures' lines are held back to one a minute by the logger's RepeatLimiter)
    said = [r.getMessage() for r in caplog.records if r.name == "hub.engine.queue" and "runs again" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("periodic work runs again, after ") and said[0].endswith("s of failures")
