"""`hub deliveries replay` with the queue down (HUB_REDIS_URL at a port nothing listens on): it
made the deliveries due, logged "could not enqueue" with Redis's traceback, printed "delivery N
replayed" and exited with status 0. It now stops first, in one line, as `hub worker` does."""

from __future__ import annotations

import logging
import socket

import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Delivery, Event
from tests.support.engine import enable
from tests.support.plugins import FakeSource, Recorder


def _closed_port() -> int:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _dead_delivery(app) -> int:
    with app.app_context():
        event = Event(workspace_id=1, source_plugin="src", type="stage_change", external_id="e-dead",
                      subject="opp-1", payload={"opportunity_id": "opp-1", "to_stage_id": "stage-1"})
        db.session.add(event)
        db.session.flush()
        delivery = Delivery(event_id=event.id, workspace_id=1, plugin="rec", hook="on_stage_change",
                            status="dead", attempts=3)
        db.session.add(delivery)
        db.session.commit()
        return delivery.id


def test_replay_with_the_queue_down_says_so_in_one_line_and_replays_nothing(make_app, caplog):
    port = _closed_port()
    app = make_app({"REDIS_URL": f"redis://:s3cretpw@127.0.0.1:{port}/0", "QUEUE_IMMEDIATE": False},
                   plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    enable(app, "src", "rec")
    delivery_id = _dead_delivery(app)
    runner = app.test_cli_runner()
    caplog.set_level(logging.ERROR)
    for args in ([str(delivery_id)], ["--all-dead"]):
        result = runner.invoke(args=["deliveries", "replay", *args])
        assert result.exit_code == 1, result.output
        assert result.output.startswith(f"Error: the queue cannot be reached (Redis, HUB_REDIS_URL "
                                        f"redis://***@127.0.0.1:{port}/0): "), result.output
        assert result.output.endswith("Start Redis or correct HUB_REDIS_URL, then run the command again (nothing "
                                      "was replayed).\n")
        assert len(result.output.splitlines()) == 1 and "s3cretpw" not in result.output
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"
    with app.app_context():
        assert db.session.scalar(sa.select(Delivery.status).where(Delivery.id == delivery_id)) == "dead"
        db.session.execute(sa.update(Delivery).values(status="done"))
        db.session.commit()
    # nothing to replay wakes no worker: a runbook's `--all-dead` after an outage still exits with 0
    result = runner.invoke(args=["deliveries", "replay", "--all-dead"])
    assert result.exit_code == 0 and result.output == "no dead deliveries: nothing to replay\n"
