"""Every line logged while a delivery runs carries its ``workspace_id``, ``event_id`` and
``delivery_id``, whoever logged it: the runner, the engine's invitation store, the lease keeper's
thread, and the plugin through ``ctx.log`` or a plain ``logging`` logger of its own (issue 7)."""

from __future__ import annotations

import json
import logging
import time

import pytest
import sqlalchemy as sa

from hub import hookimpl, services
from hub.engine import runner
from hub.errors import Deferred, PermanentError
from hub.extensions import db
from hub.logging_setup import RepeatLimiter, configure_logging
from hub.runtime import get_runtime
from hub.store.models import Delivery, Invitation
from tests.support.engine import enable
from tests.support.plugins import FakeSource, Recorder

TOO_LONG_URL = "https://vendor.example/" + "x" * 3000  # more than invite_url holds: left out, with a warning


class Loud(Recorder):
    """Logs through every way a plugin has, touches its invitation, then ends as ``ending`` says."""

    def __init__(self):
        super().__init__("Loud")
        self.ending = "done"
        self.invitation_id: int | None = None
        self.during = None  # called with ctx before the ending

    @hookimpl
    def on_stage_change(self, ctx, change):
        ctx.log.info("through ctx.log")
        logging.getLogger("hub.plugin.loud.client").warning("through a plain logger of the plugin's")
        ctx.invitations.transition(self.invitation_id, "invited", invite_url=TOO_LONG_URL)
        if self.during is not None:
            self.during(ctx)
        if self.ending == "deferred":
            raise Deferred("not yet", retry_after=5)
        if self.ending == "retry":
            raise RuntimeError("vendor exploded")
        if self.ending == "dead":
            raise PermanentError("the vendor says no")
        if self.ending in ("lost_lease", "cancelled"):  # another worker took it over, or a disable cancelled it
            values = {"lease_token": "another-run"} if self.ending == "lost_lease" else \
                {"status": "cancelled", "lease_token": None}
            db.session.execute(sa.update(Delivery).where(Delivery.id == ctx.delivery_id).values(**values))
            db.session.commit()


@pytest.fixture
def hub(make_app):
    """A JSON-logging hub with one delivery to ``loud`` waiting to run (no queue), and its ids:
    the event's id differs from the delivery's (an event before it had no subscriber)."""
    loud = Loud()
    app = make_app({"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG", "LEASE_SECONDS": 0.15},
                   plugins=[("src", FakeSource()), ("loud", loud)], entry_points=False)
    keys = enable(app, "src")
    with app.app_context():
        get_runtime().queue = None  # nothing runs by itself: the test runs the delivery
    client = app.test_client()
    client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "before-loud"}))
    enable(app, "loud")
    client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "the-one"}))
    with app.app_context():
        attachment = services.save_attachment(1, dict(
            posting_id="p1", posting_name="Engineer", stage_id="s1", stage_name="Test", provider="loud",
            assessment_id="a1", assessment_name="Python"), "test")
        invitation = Invitation(workspace_id=1, attachment_id=attachment.id, opportunity_id="opp-1", provider="loud",
                                assessment_id="a1", assessment_name="Python", status="invited")
        db.session.add(invitation)
        db.session.commit()
        loud.invitation_id = invitation.id
        delivery = db.session.scalar(sa.select(Delivery))
        if delivery.id == delivery.event_id:  # PostgreSQL's ingress takes both ids in step: set them apart
            db.session.execute(sa.update(Delivery).where(Delivery.id == delivery.id).values(id=delivery.id + 1000))
            db.session.commit()
            delivery = db.session.scalar(sa.select(Delivery))
        ids = {"workspace_id": delivery.workspace_id, "event_id": delivery.event_id, "delivery_id": delivery.id}
        db.session.commit()
    assert ids["event_id"] != ids["delivery_id"]
    return app, loud, ids


def capture(app, capsys) -> None:
    """From now on, the hub's lines go to the test's ``capsys`` (its handlers write to the standard
    error of when they were made: the fixture's was another)."""
    configure_logging(app)
    capsys.readouterr()


def run_logged(app, capsys, delivery_id: int) -> tuple[str, list[dict]]:
    """Run the delivery; its outcome and every line written to standard error meanwhile, each
    read as JSON (a line that is not JSON fails the test)."""
    capture(app, capsys)
    with app.app_context():
        outcome = runner.run_delivery(get_runtime(), delivery_id)
    return outcome, [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]


@pytest.mark.parametrize("ending, outcome, line", [
    ("done", "done", "delivery {} done"),
    ("deferred", "deferred", "delivery {} deferred"),
    ("retry", "retry", "delivery {} attempt 1 failed"),
    ("dead", "dead", "delivery {} dead"),
    ("lost_lease", runner.LOST_LEASE, "delivery {} ran longer than its lease"),
    ("cancelled", runner.LOST_LEASE, "delivery {} was cancelled while it ran"),
])
def test_every_line_logged_while_a_delivery_runs_carries_its_ids(hub, capsys, ending, outcome, line):
    app, loud, ids = hub
    loud.ending = ending
    answer, lines = run_logged(app, capsys, ids["delivery_id"])
    assert answer == outcome
    messages = [body["message"] for body in lines]
    assert "through ctx.log" in messages
    assert "through a plain logger of the plugin's" in messages
    assert any(m.startswith(f"invitation {loud.invitation_id}: invite_url of") for m in messages)
    assert any(m.startswith(line.format(ids["delivery_id"])) for m in messages)
    if ending == "retry":  # the traceback's own debug line too
        assert any(m.startswith(f"traceback of delivery {ids['delivery_id']}") for m in messages)
    for body in lines:
        assert {name: body.get(name) for name in ids} == ids, body
        assert body.get("plugin") == "loud", body
    # the ids do not outlive the run: ctx.log outside a delivery carries its workspace and plugin only
    with app.app_context():
        get_runtime().context(1, "loud").log.info("outside any delivery")
    logging.getLogger("hub.test").warning("after the run")
    after = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [{name: body.get(name) for name in ("message", *ids, "plugin")} for body in after] == [
        {"message": "outside any delivery", "workspace_id": 1, "event_id": None, "delivery_id": None,
         "plugin": "loud"},
        {"message": "after the run", "workspace_id": None, "event_id": None, "delivery_id": None, "plugin": None}]


def test_the_lease_keeper_s_lines_carry_the_delivery_s_ids(hub, capsys, monkeypatch):
    """The lease is renewed from a thread of its own: its lines carry the ids all the same."""
    app, loud, ids = hub

    def cannot_renew(ctx):
        def broken():
            raise RuntimeError("the database is away")

        with monkeypatch.context() as patch:
            patch.setattr(runner, "utcnow", broken)  # the keeper's renewal fails; nothing else calls it meanwhile
            time.sleep(0.3)  # a renewal every 0.05 s

    loud.during = cannot_renew
    answer, lines = run_logged(app, capsys, ids["delivery_id"])
    assert answer == "done"
    kept = [body for body in lines if body["message"] == f"could not renew the lease of delivery {ids['delivery_id']}"]
    assert kept
    for body in lines:
        assert {name: body.get(name) for name in ids} == ids, body


def test_a_line_about_an_event_the_delivery_stored_carries_that_event_s_id_and_the_delivery_s(hub, capsys):
    app, loud, ids = hub

    def start(ctx):
        ctx.invitations.transition(loud.invitation_id, "started")  # announced as a new event

    loud.during = start
    answer, lines = run_logged(app, capsys, ids["delivery_id"])
    assert answer == "done"
    ingested = [body for body in lines if body["message"].endswith(" ingested")]
    assert len(ingested) == 1
    assert ingested[0]["event_id"] > ids["event_id"]
    assert ingested[0]["message"] == f"event {ingested[0]['event_id']} ingested"
    assert (ingested[0]["delivery_id"], ingested[0]["workspace_id"]) == (ids["delivery_id"], ids["workspace_id"])
    for body in lines:
        if body is not ingested[0]:
            assert {name: body.get(name) for name in ids} == ids, body


def test_a_run_stopped_by_an_error_it_cannot_record_logs_it_with_the_delivery_s_ids(hub, capsys, monkeypatch):
    """Through the queue's task: the error is logged by the hub, with every id of the delivery and
    what it means, not left to Huey's "Unhandled exception in task" (which names no delivery)."""
    app, loud, ids = hub

    def cannot_record(*args, **kwargs):
        raise sa.exc.OperationalError("UPDATE deliveries", {}, Exception("server closed the connection"))

    monkeypatch.setattr(runner, "_finish", cannot_record)
    capture(app, capsys)
    with app.app_context():
        answer = runner.run_delivery(get_runtime(), ids["delivery_id"], contain_errors=True)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert answer == runner.FAILED
    stopped = [body for body in lines if "stopped before its outcome was recorded" in body["message"]]
    assert len(stopped) == 1, lines
    assert stopped[0]["message"].startswith(
        f"delivery {ids['delivery_id']} stopped before its outcome was recorded: the database is unavailable")
    assert {name: stopped[0].get(name) for name in ids} == ids and stopped[0]["plugin"] == "loud"
    assert stopped[0]["level"] == "error" and stopped[0]["exc_type"] == "OperationalError"
    assert not [body for body in lines if body["logger"].startswith("huey")]
    # without contain_errors (a caller of its own, a test) the error is raised
    with app.app_context():
        db.session.execute(sa.update(Delivery).values(status="pending", lease_token=None, lease_until=None))
        db.session.commit()
        with pytest.raises(sa.exc.OperationalError):
            runner.run_delivery(get_runtime(), ids["delivery_id"])


def test_a_claim_the_database_refuses_is_logged_with_the_delivery_s_id_and_repeats_held_back(hub, capsys,
                                                                                              monkeypatch):
    app, loud, ids = hub

    def database_away(*args, **kwargs):
        raise sa.exc.OperationalError("UPDATE deliveries", {}, Exception("connection refused"))

    monkeypatch.setattr(runner, "claim", database_away)
    monkeypatch.setattr(runner.claim_log, "filters", [RepeatLimiter()])  # nothing held from an earlier test
    capture(app, capsys)
    with app.app_context():
        answers = [runner.run_delivery(get_runtime(), ids["delivery_id"], contain_errors=True) for _ in range(3)]
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert answers == [runner.FAILED] * 3
    assert [body["message"] for body in lines] == [
        f"delivery {ids['delivery_id']} could not be claimed: the database is unavailable: the sweeper runs it "
        "when it can"]  # the two repeats within the minute are held back
    assert lines[0]["delivery_id"] == ids["delivery_id"]
    assert loud.calls == []


def test_another_library_s_warning_is_written_in_the_hub_s_format_with_the_ids_and_the_hub_s_lines_once(
        hub, capsys):
    """A library outside the trees the hub writes (an HTTP client retrying during a delivery):
    its warnings come out as JSON with the delivery's ids, not as Python's last-resort plain line;
    its info lines are not written; the hub's own lines, which reach the root logger as well, are
    written once."""
    app, loud, ids = hub

    def library_lines(ctx):
        logging.getLogger("urllib3.connectionpool").warning("Retrying (Retry(total=2)) after connection broken")
        logging.getLogger("urllib3.connectionpool").info("Starting new HTTPS connection (1): vendor.example:443")

    loud.during = library_lines
    answer, lines = run_logged(app, capsys, ids["delivery_id"])
    assert answer == "done"
    retrying = [body for body in lines if body["logger"] == "urllib3.connectionpool"]
    assert [body["message"] for body in retrying] == ["Retrying (Retry(total=2)) after connection broken"]
    assert retrying[0]["level"] == "warning"
    assert {name: retrying[0].get(name) for name in ids} == ids and retrying[0]["plugin"] == "loud"
    messages = [body["message"] for body in lines]
    assert messages.count("through a plain logger of the plugin's") == 1
    assert messages.count(f"delivery {ids['delivery_id']} done") == 1
