"""Ingest: one event and one set of deliveries however often an event arrives."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub import hookimpl
from hub.engine.ingest import ingest
from hub.entities import ASSESSMENT, SOURCE, InboundEvent, IntegrationSpec, InvitationProgress, StageChange
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Attachment, Event, Integration, Invitation, WebhookLog
from tests.support.engine import deliveries, drain, enable
from tests.support.plugins import FakeSource, Recorder


def make(make_app):
    source, first, second = FakeSource(), Recorder("First"), Recorder("Second")
    app = make_app(plugins=[("src", source), ("first", first), ("second", second)], entry_points=False)
    return app, source, first, second


def test_same_event_five_times_gives_one_event_and_one_set_of_deliveries(make_app):
    app, _, first, second = make(make_app)
    keys = enable(app, "src", "first", "second")
    client = app.test_client()
    answers = [client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "evt-1"})) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json["status"] for a in answers] == ["accepted"] + ["duplicate"] * 4
    drain(app)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 1
    rows = deliveries(app)
    assert sorted(d.plugin for d in rows) == ["first", "second"]
    assert all(d.status == "done" for d in rows)
    assert len(first.calls) == 1 and len(second.calls) == 1


def test_an_alias_id_seen_before_makes_a_duplicate(make_app):
    app, _, first, _ = make(make_app)
    keys = enable(app, "src", "first")
    client = app.test_client()
    client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "evt-1", "aliases": ["token-a"]}))
    again = client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "evt-2", "aliases": ["token-a"]}))
    assert again.json["status"] == "duplicate"
    drain(app)
    assert len(first.calls) == 1


@pytest.mark.parametrize("external_id", ["", None, 42])
def test_an_inbound_event_without_a_non_empty_string_id_cannot_be_built(external_id):
    with pytest.raises(ValueError, match="external_id must be a non-empty string"):
        InboundEvent(external_id=external_id, event=StageChange(opportunity_id="opp-1", to_stage_id="stage-1"))
    with pytest.raises(ValueError, match="plugin contract"):
        InboundEvent(external_id=external_id, alias_ids=("tok-a",), event=StageChange(opportunity_id="opp-1"))
    assert InboundEvent(external_id="evt-1", alias_ids=("",), event=StageChange()).external_id == "evt-1"


def test_a_plugin_giving_an_event_an_empty_id_fails_loudly_and_nothing_is_lost_or_half_stored(make_app, caplog):
    # the hub used to answer the first such event "duplicate" (dropped unseen), and a second one with
    # another alias 500 on the (workspace, source, external_id) constraint after storing the first under ""
    app, _, first, _ = make(make_app)
    keys = enable(app, "src", "first")
    client = app.test_client()
    answers = [client.post(f"/webhooks/src/{keys['src']}", data=json.dumps(body))
               for body in ({"id": ""}, {"id": "", "aliases": ["tok-a"]}, {"id": "", "aliases": ["tok-b"]})]
    assert [a.status_code for a in answers] == [500] * 3  # a plugin bug: never answered "duplicate"; the sender retries
    assert all(a.json["error"]["code"] == "internal_error" for a in answers)
    assert "external_id must be a non-empty string" in caplog.text
    # the URL's key authenticates the sender: the line naming the failed request leaves it out
    assert "unhandled error on POST /webhooks/src/***" in caplog.text and keys["src"] not in caplog.text
    drain(app)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0
        logged = db.session.execute(sa.select(WebhookLog.outcome, WebhookLog.status_code, WebhookLog.message)).all()
    # admins see each failure in the webhook log, without the exception's text (it may quote the body)
    assert logged == [("rejected", 500, "the plugin failed: ValueError (the hub's log has the details)")] * 3
    assert deliveries(app) == [] and first.calls == []

    # the same events with ids are accepted, the alias ones once each
    for body in ({"id": "evt-1"}, {"id": "evt-2", "aliases": ["tok-a"]}, {"id": "evt-3", "aliases": ["tok-b"]}):
        assert client.post(f"/webhooks/src/{keys['src']}", data=json.dumps(body)).json["status"] == "accepted"
    drain(app)
    assert len(first.calls) == 3


def test_only_enabled_plugins_get_deliveries(make_app):
    app, _, first, second = make(make_app)
    keys = enable(app, "src", "first")
    app.test_client().post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "evt-1"}))
    drain(app)
    assert [d.plugin for d in deliveries(app)] == ["first"]
    assert second.calls == []


def test_ingest_reports_duplicate_and_keeps_workspaces_apart(make_app):
    app, *_ = make(make_app)
    enable(app, "src", "first")
    with app.app_context():
        from hub.store.models import Workspace

        db.session.add(Workspace(name="Other"))
        db.session.commit()
        runtime = get_runtime()
        event = InboundEvent(external_id="same-id", event=StageChange(opportunity_id="o", to_stage_id="s"))
        assert ingest(runtime, 1, "src", event, wake=False).outcome == "accepted"
        assert ingest(runtime, 1, "src", event, wake=False).duplicate
        # the same sender id in another workspace is another event
        assert ingest(runtime, 2, "src", event, wake=False).outcome == "no_subscribers"


def test_ping_marks_the_integration_verified(make_app):
    app, *_ = make(make_app)
    keys = enable(app, "src")
    answer = app.test_client().post(f"/webhooks/src/{keys['src']}", data=json.dumps({"ping": True}))
    assert answer.status_code == 200 and answer.json["status"] == "verified"
    with app.app_context():
        integration = get_runtime().integration(1, "src")
        assert integration.verified_at is not None and integration.last_webhook_at is not None
        assert db.session.scalar(sa.select(WebhookLog.outcome)) == "ping"


def test_the_first_signed_webhook_verifies_an_integration_once(make_app):
    app, *_ = make(make_app)
    keys = enable(app, "src")
    client = app.test_client()

    def verified_at():
        with app.app_context():
            value = db.session.scalar(sa.select(Integration.verified_at).where(Integration.plugin == "src"))
            db.session.rollback()
            return value

    assert client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"bad": True})).status_code == 401
    assert verified_at() is None  # a rejected request proves nothing
    assert client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "evt-1"})).status_code == 200
    first = verified_at()
    assert first is not None  # a vendor without a ping: its first signed webhook proves delivery
    client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "evt-2"}))
    assert verified_at() == first  # not rewritten by every webhook after that
    client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"ping": True}))
    assert verified_at() > first  # an explicit ping always records a new verification


def test_rejection_is_a_json_4xx_and_is_recorded(make_app):
    app, *_ = make(make_app)
    keys = enable(app, "src")
    client = app.test_client()
    bad = client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"bad": True}))
    assert bad.status_code == 401
    assert bad.json == {"error": {"code": "webhook_rejected", "message": "signature does not match"}}
    not_json = client.post(f"/webhooks/src/{keys['src']}", data=b"{not json")
    assert not_json.status_code == 400 and "JSON" in not_json.json["error"]["message"]
    with app.app_context():
        logged = list(db.session.scalars(sa.select(WebhookLog.outcome)))
    assert logged == ["rejected", "rejected"]


def test_unknown_or_disabled_url_is_404_and_nothing_is_stored(make_app):
    app, *_ = make(make_app)
    keys = enable(app, "src", "first")
    client = app.test_client()
    assert client.post("/webhooks/src/not-a-key", data="{}").status_code == 404
    assert client.post(f"/webhooks/first/{keys['src']}", data="{}").status_code == 404
    with app.app_context():
        from hub import services

        services.set_enabled(get_runtime(), 1, "src", False, "test")
    answer = client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "x"}))
    assert answer.status_code == 404
    assert answer.json["error"]["code"] == "not_found"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0


def test_a_webhook_to_a_disabled_integration_is_refused_and_shown_in_its_webhook_log(make_app):
    app, _, first, _ = make(make_app)
    keys = enable(app, "src", "first")
    client = app.test_client()
    with app.app_context():
        from hub import services

        services.set_enabled(get_runtime(), 1, "src", False, "test")
    answer = client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "while-disabled"}))
    assert answer.status_code == 404
    assert "disabled in the hub" in answer.json["error"]["message"]
    with app.app_context():
        logged = db.session.execute(sa.select(WebhookLog.outcome, WebhookLog.status_code, WebhookLog.message)).all()
        integration = db.session.scalar(sa.select(Integration).where(Integration.plugin == "src"))
        assert integration.last_webhook_at is None  # a refusal is no sign of a working connection
        assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0
    assert [(o, s) for o, s, _ in logged] == [("rejected", 404)]
    assert "was not processed" in logged[0][2]
    text = client.get("/metrics").get_data(as_text=True)
    assert 'reason="disabled",source="src"' in text
    # enabled again: the same URL works, and what was refused is not there
    with app.app_context():
        services.set_enabled(get_runtime(), 1, "src", True, "test")
    assert client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "after"})).json["status"] == "accepted"
    drain(app)
    assert len(first.calls) == 1


def test_a_request_refused_as_disabled_is_not_logged_if_the_integration_was_enabled_meanwhile(make_app):
    from hub.web.webhooks import STALE, WebhookRecord, persist

    app, *_ = make(make_app)
    enable(app, "src")
    with app.app_context():
        row = db.session.scalar(sa.select(Integration).where(Integration.plugin == "src"))
        refused = WebhookRecord(row.workspace_id, row.id, "src", row.webhook_key, row.updated_at, None,
                                "rejected", status=404, message="disabled", enabled=False)
        assert persist([refused]) == [STALE]
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(WebhookLog.id))) == 0


def test_oversized_body_is_413_json(make_app):
    app, *_ = make(make_app)
    keys = enable(app, "src")
    answer = app.test_client().post(f"/webhooks/src/{keys['src']}", data=b"x" * 2_000_000)
    assert answer.status_code == 413
    assert "too large" in answer.json["error"]["message"]


def test_disabling_stops_a_url_whose_integration_is_cached(make_app):
    app, *_ = make(make_app)
    keys = enable(app, "src", "first")
    client = app.test_client()
    assert client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "evt-1"})).json["status"] == "accepted"
    with app.app_context():
        from hub import services

        services.set_enabled(get_runtime(), 1, "src", False, "test")
    answer = client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "evt-2"}))
    assert answer.status_code == 404
    with app.app_context():
        assert list(db.session.scalars(sa.select(Event.external_id))) == ["evt-1"]


def test_one_batch_holding_the_same_event_twice_stores_it_once(make_app):
    from hub.web.webhooks import WebhookRecord, persist

    app, *_ = make(make_app)
    enable(app, "src", "first")
    event = InboundEvent(external_id="evt-twice", alias_ids=("token-1",),
                         event=StageChange(opportunity_id="o", to_stage_id="s"))
    other = InboundEvent(external_id="evt-other", alias_ids=("token-1",),  # a replayed token
                         event=StageChange(opportunity_id="o", to_stage_id="s"))
    with app.app_context():
        integration = get_runtime().integration(1, "src")
        records = [WebhookRecord(1, integration.id, "src", integration.webhook_key, integration.updated_at, None,
                                 "events", events=(inbound,)) for inbound in (event, event, other)]
        results = persist(records)
        db.session.commit()
        assert [[o.outcome for o in outcomes] for outcomes in results] == [["accepted"], ["duplicate"], ["duplicate"]]
        assert list(db.session.scalars(sa.select(Event.external_id))) == ["evt-twice"]
        assert list(db.session.scalars(sa.select(WebhookLog.outcome).order_by(WebhookLog.id))) == [
            "accepted", "duplicate", "duplicate"]


def test_a_record_verified_against_an_older_integration_is_not_stored(make_app):
    from hub.web.webhooks import STALE, WebhookRecord, persist

    app, *_ = make(make_app)
    enable(app, "src", "first")
    with app.app_context():
        integration = get_runtime().integration(1, "src")
        stale = WebhookRecord(1, integration.id, "src", integration.webhook_key,
                              integration.updated_at - timedelta(seconds=1), None, "events",
                              events=(InboundEvent(external_id="evt-1", event=StageChange(opportunity_id="o",
                                                                                         to_stage_id="s")),))
        moved = WebhookRecord(1, integration.id, "src", "an-older-url-key", integration.updated_at, None, "ping")
        assert persist([stale, moved]) == [STALE, STALE]
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(WebhookLog.id))) == 0


def test_a_batch_notes_an_integration_verified_at_its_current_version_whatever_stale_records_it_held(make_app):
    """A stale record (verified against an older version) after a fresh ping of the same
    integration in one batch: the process noted the stale record's version as verified, and the
    next signed webhook "proved" the integration again."""
    from hub.web.webhooks import STALE, WebhookRecord, _after_commit, _seen_by_this_process, persist

    app, *_ = make(make_app)
    enable(app, "src")
    with app.app_context():
        integration = get_runtime().integration(1, "src")
        current, older = integration.updated_at, integration.updated_at - timedelta(seconds=1)
        ping = WebhookRecord(1, integration.id, "src", integration.webhook_key, current, None, "ping")
        stale = WebhookRecord(1, integration.id, "src", integration.webhook_key, older, None, "ping")
        records = [ping, stale]
        results = persist(records)
        db.session.commit()
        assert results[1] == STALE and results[0] != STALE
        _after_commit(records, results)
        assert _seen_by_this_process(get_runtime())[1] == {(integration.id, current)}


def test_a_stale_record_leaves_no_trace_and_does_not_hold_back_the_others_of_its_batch(make_app):
    """On PostgreSQL the batch's dedupe keys are inserted before the integrations are checked
    (one round trip), so a stale record makes the batch start again without it: its event must
    stay unknown, and a later delivery of it must be accepted."""
    from hub.web.webhooks import STALE, WebhookRecord, persist

    app, *_ = make(make_app)
    enable(app, "src", "first")

    def record(integration, version, external_id):
        return WebhookRecord(1, integration.id, "src", integration.webhook_key, version, None, "events",
                             events=(InboundEvent(external_id=external_id, alias_ids=(f"token-{external_id}",),
                                                  event=StageChange(opportunity_id="o", to_stage_id="s")),))

    with app.app_context():
        integration = get_runtime().integration(1, "src")
        stale = record(integration, integration.updated_at - timedelta(seconds=1), "evt-stale")
        current = record(integration, integration.updated_at, "evt-current")
        results = persist([stale, current, stale])
        db.session.commit()
        assert results[0] == STALE and results[2] == STALE
        assert [o.outcome for o in results[1]] == ["accepted"] and results[1][0].delivery_ids
        assert list(db.session.scalars(sa.select(Event.external_id))) == ["evt-current"]
        assert list(db.session.scalars(sa.select(WebhookLog.outcome))) == ["accepted"]
        again = persist([record(integration, integration.updated_at, "evt-stale")])
        db.session.commit()
        assert [o.outcome for o in again[0]] == ["accepted"]
        assert sorted(db.session.scalars(sa.select(Event.external_id))) == ["evt-current", "evt-stale"]


def test_event_and_delivery_ids_returned_are_those_stored(make_app):
    """The fast path on PostgreSQL numbers events and deliveries itself (ids taken from their
    sequences): every id handed back must be the stored row's."""
    from hub.store.models import Delivery
    from hub.web.webhooks import WebhookRecord, persist

    app, *_ = make(make_app)
    enable(app, "src", "first", "second")
    with app.app_context():
        integration = get_runtime().integration(1, "src")
        records = [WebhookRecord(1, integration.id, "src", integration.webhook_key, integration.updated_at, None,
                                 "events", events=tuple(
                                     InboundEvent(external_id=f"evt-{n}-{k}",
                                                  event=StageChange(opportunity_id=f"o-{n}-{k}", to_stage_id="s"))
                                     for k in range(2))) for n in range(3)]
        results = persist(records)
        db.session.commit()
        assert [len(outcomes) for outcomes in results] == [2, 2, 2]  # one outcome per event of each record
        for outcomes, record_ in zip(results, records):
            for outcome, inbound in zip(outcomes, record_.events):
                event = db.session.get(Event, outcome.event_id)
                assert event.external_id == inbound.external_id
                stored = db.session.scalars(sa.select(Delivery).where(Delivery.event_id == event.id)).all()
                assert sorted(d.id for d in stored) == sorted(outcome.delivery_ids)
                assert sorted(d.plugin for d in stored) == ["first", "second"]


def test_an_invitation_id_beyond_any_row_is_an_unknown_invitation(make_app):
    from hub.entities import AssessmentResult

    app, *_ = make(make_app)
    enable(app, "src", "first")
    with app.app_context():
        runtime = get_runtime()
        for invitation_id in (2**31, 2**63, -1, 0):  # PostgreSQL would refuse the first two in a query
            outcome = ingest(runtime, 1, "src", InboundEvent(
                external_id=f"result-{invitation_id}", event=AssessmentResult(invitation_id=invitation_id, score=1)))
            assert outcome.outcome == "unknown_invitation" and outcome.delivery_ids == []
        ctx = runtime.context(1, "src")
        assert ctx.invitations.get(2**40) is None and ctx.attachments.get(2**40) is None
        with pytest.raises(LookupError):
            ctx.invitations.transition(2**40, "started")


def test_a_key_seen_in_a_batch_without_an_event_makes_the_batch_s_event_with_it_a_duplicate():
    """``claim``: a request without events (a signed ping) claims its keys before any event of
    the same batch, so a replay of its token sent at the same moment is a duplicate too."""
    from hub.engine.ingest import claim

    token, other = (1, "lever", "tok-1"), (1, "lever", "evt-9")
    assert claim([{other, token}], inserted={other, token}) == [True]
    assert claim([{other, token}], inserted={other, token}, seen={token}) == [False]
    assert claim([{other}], inserted={other}, seen={token}) == [True]


@pytest.mark.parametrize("reference, expected", [
    ("hub-inv-12", 12), ("hub-inv-12-r3", 12), ("hub-inv-12-0a1b2c3d4e", 12), ("hub-inv-12-0a1b2c3d4e-r3", 12),
    ("hub-inv-", None), ("other-12", None),
    pytest.param("hub-inv-\xb2", None, id="superscript-two"), pytest.param("hub-inv-\u0661", None, id="arabic-indic-one"),
])
def test_an_external_reference_names_an_invitation_only_with_ascii_digits(reference, expected):
    from hub.entities import parse_external_reference

    assert parse_external_reference(reference) == expected


def test_seen_ids_are_checked_where_a_plugin_gives_them():
    from hub.entities import WebhookResult
    from hub.errors import WebhookRejected

    assert WebhookResult(ping=True, seen_ids="tok-1").seen_ids == ("tok-1",)  # one id, not its characters
    assert WebhookRejected("bad", status=422, seen_ids=["tok-2"]).seen_ids == ("tok-2",)
    for wrong in ((1,), ("",), (None,)):
        with pytest.raises(ValueError, match="non-empty strings"):
            WebhookResult(ping=True, seen_ids=wrong)
    with pytest.raises(ValueError, match="without events"):
        WebhookResult(events=(InboundEvent(external_id="e", event=StageChange(opportunity_id="o", to_stage_id="s")),),
                      seen_ids=("tok",))


@pytest.mark.parametrize("sqlstate, every_job_alike", [
    ("57014", True),  # statement timeout: each webhook alone would wait for it again
    ("55P03", True),  # lock not available
    ("08006", True),  # connection failure
    (None, True),  # SQLite's "database is locked" (after its busy timeout) has no SQLSTATE
    ("40P01", False),  # deadlock: running each webhook alone clears it
    ("40001", False),  # serialization failure
])
def test_which_database_errors_fail_a_whole_webhook_batch(sqlstate, every_job_alike):
    from hub.store.outage import database_unavailable

    class DriverError(Exception):
        pass

    driver_error = DriverError("boom")
    driver_error.sqlstate = sqlstate
    assert database_unavailable(sa.exc.OperationalError("COMMIT", {}, driver_error)) is every_job_alike
    assert database_unavailable(sa.exc.IntegrityError("INSERT", {}, driver_error)) is False
    assert database_unavailable(ValueError("not the database")) is False


@pytest.mark.parametrize("fields, message", [
    (dict(score="eight"), "score must be a finite number"),
    (dict(score=True), "score must be a finite number"),
    (dict(score=float("nan")), "score must be a finite number"),
    (dict(max_score=float("inf")), "max_score must be a finite number"),
    (dict(score=1e308, max_score=0), "max_score must be above 0"),
    (dict(report_url=42), "report_url must be a string"),
    (dict(completed_at="yesterday"), "completed_at must be a datetime"),
])
def test_an_assessment_result_refuses_a_wrong_value_naming_the_field(fields, message):
    """A text score used to pass, then failed every attempt to store it with a database traceback."""
    from hub.entities import AssessmentResult

    with pytest.raises(ValueError, match=message):
        AssessmentResult(invitation_id=1, **fields)
    assert AssessmentResult(invitation_id=1, score=7, max_score=10.0).score == 7


class _StatusListener:
    """A plugin recording the invitations whose status it heard of; ``own_only`` registers it with
    ``own_invitations_only`` (an assessment provider; a source whatever it says)."""

    def __init__(self, kind, own_only=False):
        self.kind, self.own_only, self.heard = kind, own_only, []

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=self.kind, title=f"Listener {len(self.heard)}",
                                 own_invitations_only=self.own_only))

    @hookimpl
    def on_invitation_status(self, ctx, progress):
        self.heard.append(progress.invitation_id)


def test_a_provider_registered_for_its_own_invitations_gets_no_delivery_of_another_s(make_app):
    """Every enabled provider got a delivery (a row, a queue task, a worker's call) of every other
    provider's invitation changing status, only to ignore it."""
    source, mine, other_own, other_all = (_StatusListener(SOURCE, own_only=True), _StatusListener(ASSESSMENT, True),
                                          _StatusListener(ASSESSMENT, True), _StatusListener(ASSESSMENT))
    app = make_app(plugins=[("src", source), ("mine", mine), ("ownonly", other_own), ("hearsall", other_all)],
                   entry_points=False)
    enable(app, "src", "mine", "ownonly", "hearsall")
    with app.app_context():
        ws = db.session.scalar(sa.select(Integration.workspace_id).limit(1))
        attachment = Attachment(workspace_id=ws, posting_id="p", posting_name="P", stage_id="s", stage_name="S",
                                provider="mine", assessment_id="a", assessment_name="A", options={})
        db.session.add(attachment)
        db.session.flush()
        invitation = Invitation(workspace_id=ws, attachment_id=attachment.id, opportunity_id="opp-1",
                                provider="mine", assessment_id="a", assessment_name="A", status="started")
        db.session.add(invitation)
        db.session.commit()
        outcome = ingest(get_runtime(), ws, "hub", InboundEvent(
            external_id="progress-1", event=InvitationProgress(invitation_id=invitation.id, status="started")))
        invitation_id = invitation.id
    assert outcome.outcome == "accepted"
    drain(app)
    assert sorted(d.plugin for d in deliveries(app)) == ["hearsall", "mine", "src"]
    assert source.heard == mine.heard == other_all.heard == [invitation_id] and other_own.heard == []
