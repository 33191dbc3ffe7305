"""Backfill: inviting the candidates already in an attached stage, from the pipeline page and the
API (``hub.engine.backfill``), through the hub's durable path: one invitation per candidate and
attachment however often it is clicked, and also when a real webhook for the same move arrives."""

from __future__ import annotations

import logging
import re

import pytest
import sqlalchemy as sa

from hub import hookimpl, services
from hub.engine import backfill
from hub.engine.ingest import ingest
from hub.entities import INVITED, PENDING, Candidate, InboundEvent, StageChange
from hub.errors import PermanentError, TemporaryError
from hub.extensions import db
from hub.kit import provider
from hub.runtime import get_runtime
from hub.store.models import AuditEntry, Delivery, Event, Invitation, utcnow
from hub.testing import run_deliveries
from tests.web.support import FakeAssess, FakeSource, api_headers, seed, sign_in, vendor_error

STAGE = "s1"
IN_STAGE = ("opp-a", "opp-b", "opp-c")


class StageSource(FakeSource):
    """The web tests' fake ATS, which can also list the candidates of a stage and read one."""

    def __init__(self):
        super().__init__()
        self.people: dict[str, Candidate] = {}
        self.fail_reads = False
        self.read_error: Exception | None = None  # raised by every read, when set

    def put(self, opportunity_id: str, stage: str = STAGE, posting: str = "p1", archived: bool = False) -> None:
        self.people[opportunity_id] = Candidate(opportunity_id=opportunity_id, name=f"Person {opportunity_id}",
                                                email=f"{opportunity_id}@mail.test", posting_id=posting,
                                                stage_id=stage, archived=archived)

    @hookimpl
    def source_list_stage_candidates(self, ctx, posting_id, stage_id, limit):
        self._maybe_fail("source_list_stage_candidates")
        return [o for o, c in self.people.items()
                if c.posting_id == posting_id and c.stage_id == stage_id and not c.archived][:limit]

    @hookimpl
    def source_get_candidate(self, ctx, opportunity_id):
        if self.read_error is not None:
            raise self.read_error
        if self.fail_reads:
            raise TemporaryError("the ATS is down")
        return self.people.get(opportunity_id)


class InvitingAssess(FakeAssess):
    """The web tests' fake provider, inviting the way a real one does (``hub.kit.provider``)."""

    def __init__(self):
        super().__init__()
        self.sent: list[str] = []

    @hookimpl
    def on_stage_change(self, ctx, change):
        self.stage_changes.append(change.opportunity_id)
        found = provider.candidate_in_stage(ctx, change)
        if found is None:
            return
        attachments, candidate = found
        for attachment in attachments:
            invitation, _created = ctx.invitations.get_or_create(attachment, candidate)
            if invitation.status == PENDING:
                provider.send_once(ctx, invitation, candidate, self._deliver(ctx))

    def _deliver(self, ctx):
        def deliver(current, email):
            self.sent.append(current.opportunity_id)
            provider.record_sent(ctx, current.id, f"vendor-{current.id}", None)
        return deliver


@pytest.fixture
def fakes():  # replaces tests/web/conftest.py's: the same fakes, able to backfill
    return StageSource(), InvitingAssess()


@pytest.fixture
def ready(hub_app, seeded, fakes):
    """Three candidates in s1 of p1 without an invitation, plus the seeded one already invited."""
    source, _assess = fakes
    with hub_app.app_context():
        services.save_settings(get_runtime(), seeded.workspace_id, "fakeassess", {"api_key": "k"}, "test")
        invited = db.session.get(Invitation, seeded.ids["invitation"]).opportunity_id
    for opportunity_id in IN_STAGE:
        source.put(opportunity_id)
    source.put(invited)
    source.put("opp-archived", archived=True)
    source.put("opp-elsewhere", stage="s2")
    source.put("opp-other-posting", posting="p2")
    return seeded.ids["attachment"]


def _invitations(app, attachment_id: int) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(sa.select(Invitation.opportunity_id, Invitation.status).where(
            Invitation.attachment_id == attachment_id)).all()
        db.session.rollback()
    return {opportunity: status for opportunity, status in rows}


def _backfill_events(app) -> list[tuple[str, str, list[str]]]:
    with app.app_context():
        events = list(db.session.scalars(sa.select(Event).where(Event.external_id.like("backfill:%"))
                                         .order_by(Event.id)))
        out = [(e.source_plugin, e.external_id, [d.plugin for d in e.deliveries]) for e in events]
        db.session.rollback()
    return out


def test_the_page_counts_the_candidates_and_the_button_invites_them(hub_app, seeded, as_role, ready, fakes):
    _source, assess = fakes
    client = as_role("super_admin")
    listing = client.get("/pipeline").get_data(as_text=True)
    assert f'id="backfill-{ready}"' in listing and 'id="backfill-unavailable"' not in listing

    page = client.get(f"/pipeline/{ready}/backfill").get_data(as_text=True)
    assert re.search(r'id="backfill-in-stage">4 candidates in “Stage 1” of Python Developer now', page)
    assert 'id="backfill-invited">1 already has an invitation' in page
    assert "<strong>3 candidates</strong> are in this stage without an invitation." in page
    assert ">Invite 3 candidates already in this stage</button>" in page
    assert list(_invitations(hub_app, ready).values()) == ["completed"]  # the seeded one, nothing new yet

    answer = client.post(f"/pipeline/{ready}/backfill", follow_redirects=True)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "3 invitations queued; 1 already invited." in html
    # the page read again: nobody is left
    assert 'id="backfill-empty"' in html and "No candidate is in this stage without an invitation" in html
    invitations = _invitations(hub_app, ready)
    assert {o: invitations[o] for o in IN_STAGE} == {o: INVITED for o in IN_STAGE}
    assert len(invitations) == 4 and sorted(assess.sent) == list(IN_STAGE)
    # synthetic stage changes from the hub, delivered to the attachment's provider only
    assert _backfill_events(hub_app) == [("hub", f"backfill:{ready}:{o}", ["fakeassess"]) for o in IN_STAGE]
    with hub_app.app_context():
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "attachment.backfill"))
        assert (entry.actor, entry.target) == ("super_admin@acme.test", f"attachment:{ready}")
        assert entry.detail["queued"] == 3 and entry.detail["already_invited"] == 1 and entry.detail["in_stage"] == 4
    # the audit page shows it, and Activity the events
    assert "attachment.backfill" in client.get("/audit").get_data(as_text=True)
    assert f"backfill:{ready}:opp-a" in client.get("/activity").get_data(as_text=True)


def test_clicking_twice_and_a_real_webhook_make_one_invitation_per_candidate(hub_app, seeded, as_role, ready, fakes):
    source, assess = fakes
    admin = as_role("admin")
    other = as_role("super_admin")
    first = admin.post(f"/pipeline/{ready}/backfill", follow_redirects=True).get_data(as_text=True)
    second = other.post(f"/pipeline/{ready}/backfill", follow_redirects=True).get_data(as_text=True)
    assert "3 invitations queued; 1 already invited." in first
    assert "0 invitations queued; 4 already invited." in second
    # Lever's own webhook for one of the same moves arrives late: it is delivered, and invites nobody twice
    with hub_app.app_context():
        ingest(get_runtime(), seeded.workspace_id, "fakesource",
               InboundEvent(external_id="lever-evt-1", event=StageChange(opportunity_id="opp-a", to_stage_id=STAGE)))
    run_deliveries(hub_app)
    assert sorted(assess.sent) == list(IN_STAGE)
    with hub_app.app_context():
        counts = dict(db.session.execute(sa.select(Invitation.opportunity_id, sa.func.count(Invitation.id))
                                         .where(Invitation.attachment_id == ready)
                                         .group_by(Invitation.opportunity_id)).all())
        db.session.rollback()
    assert all(count == 1 for count in counts.values()) and set(IN_STAGE) <= set(counts)
    assert len(_backfill_events(hub_app)) == 3  # the second click staged nothing


def test_a_candidate_queued_but_not_invited_yet_is_not_queued_again(hub_app, seeded, as_role, ready, fakes):
    source, assess = fakes
    client = as_role("admin")
    source.fail_reads = True  # the provider cannot re-read the candidates: its deliveries wait for a retry
    assert "3 invitations queued" in client.post(f"/pipeline/{ready}/backfill", follow_redirects=True).get_data(
        as_text=True)
    assert assess.sent == []
    page = client.get(f"/pipeline/{ready}/backfill").get_data(as_text=True)
    assert ('id="backfill-queued">3 were queued by an earlier backfill and have no invitation yet: their delivery '
            'is still under way') in page
    assert 'id="backfill-empty"' in page
    again = client.post(f"/pipeline/{ready}/backfill", follow_redirects=True).get_data(as_text=True)
    assert "0 invitations queued; 1 already invited; 3 still being delivered from an earlier backfill (see Activity)." \
        in again
    with hub_app.app_context():
        waiting = list(db.session.scalars(sa.select(Delivery.status).join(Event).where(
            Event.external_id.like("backfill:%"))))
        db.session.rollback()
    assert waiting == ["retry"] * 3  # vendor failures retry like any delivery
    source.fail_reads = False
    with hub_app.app_context():
        db.session.execute(sa.update(Delivery).where(Delivery.status == "retry").values(next_attempt_at=utcnow()))
        db.session.commit()
    run_deliveries(hub_app)
    assert sorted(assess.sent) == list(IN_STAGE)


def test_a_candidate_who_entered_while_the_provider_was_disabled_is_invited_once_it_is_back(
        hub_app, seeded, as_role, ready, fakes):
    source, assess = fakes
    client = as_role("super_admin")
    with hub_app.app_context():
        runtime = get_runtime()
        services.set_enabled(runtime, seeded.workspace_id, "fakeassess", False, "test")
        source.put("opp-late")
        outcome = ingest(runtime, seeded.workspace_id, "fakesource",
                         InboundEvent(external_id="lever-evt-late", event=StageChange(opportunity_id="opp-late",
                                                                                      to_stage_id=STAGE)))
        assert outcome.delivery_ids == []  # nobody was told
    page = client.get(f"/pipeline/{ready}/backfill").get_data(as_text=True)
    assert 'id="backfill-provider-problem">Fake Tests is disabled: it cannot send invitations now.' in page
    assert 'id="backfill-confirm"' not in page and "<strong>4 candidates</strong>" in page
    refused = client.post(f"/pipeline/{ready}/backfill", follow_redirects=True).get_data(as_text=True)
    assert "Fake Tests is disabled: it cannot send invitations now." in refused
    # the API's refusal has a code of its own, as the backfill's other refusals do
    api = hub_app.test_client().post(f"/api/v1/attachments/{ready}/backfill", headers=api_headers(seeded, "admin"))
    assert api.status_code == 409 and api.get_json()["error"] == {
        "code": "provider_unavailable", "message": "Fake Tests is disabled: it cannot send invitations now. Enable and "
                                                   "connect it first, then invite the candidates already in this stage."}
    assert _backfill_events(hub_app) == []  # nothing staged: the next click must not be a duplicate

    with hub_app.app_context():
        services.set_enabled(get_runtime(), seeded.workspace_id, "fakeassess", True, "test")
    done = client.post(f"/pipeline/{ready}/backfill", follow_redirects=True).get_data(as_text=True)
    assert "4 invitations queued; 1 already invited." in done
    assert sorted(assess.sent) == sorted([*IN_STAGE, "opp-late"])


def test_roles_without_pipeline_rights_are_forbidden(hub_app, seeded, as_role, ready, fakes):
    _source, assess = fakes
    api = hub_app.test_client()
    for role in ("team_member", "limited_team_member"):
        client = as_role(role)
        assert client.get(f"/pipeline/{ready}/backfill").status_code == 403
        assert client.post(f"/pipeline/{ready}/backfill").status_code == 403
        headers = api_headers(seeded, role)
        for method in ("GET", "POST"):
            answer = api.open(f"/api/v1/attachments/{ready}/backfill", method=method, headers=headers)
            assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "forbidden"
    assert assess.sent == [] and _backfill_events(hub_app) == []
    # an Admin holds pipeline.manage
    assert as_role("admin").get(f"/pipeline/{ready}/backfill").status_code == 200
    # not signed in: the sign-in page
    assert hub_app.test_client().get(f"/pipeline/{ready}/backfill").headers["Location"].startswith("/sign-in")


def test_the_api_previews_and_backfills(hub_app, seeded, ready, fakes):
    _source, assess = fakes
    api = hub_app.test_client()
    headers = api_headers(seeded, "admin")
    preview = api.get(f"/api/v1/attachments/{ready}/backfill", headers=headers)
    assert preview.status_code == 200
    body = preview.get_json()
    assert {k: body[k] for k in ("available", "provider_problem", "source", "in_stage", "already_invited",
                                 "already_queued", "to_invite", "opportunity_ids", "limit")} == {
        "available": True, "provider_problem": None, "source": "fakesource", "in_stage": 4, "already_invited": 1,
        "already_queued": 0, "to_invite": 3, "opportunity_ids": list(IN_STAGE), "limit": 1000}
    done = api.post(f"/api/v1/attachments/{ready}/backfill", headers=headers)
    assert done.status_code == 200
    assert done.get_json() == {"attachment_id": ready, "queued": 3, "already_invited": 1, "already_queued": 0,
                               "opportunity_ids": list(IN_STAGE), "message": "3 invitations queued; 1 already invited.",
                               "candidates": [{"opportunity_id": o, "name": None, "profile_url": None}
                                              for o in IN_STAGE]}  # this source lists bare ids
    again = api.post(f"/api/v1/attachments/{ready}/backfill", headers=headers, json={})
    assert again.get_json()["queued"] == 0 and again.get_json()["already_invited"] == 4
    assert sorted(assess.sent) == list(IN_STAGE)
    after = api.get(f"/api/v1/attachments/{ready}/backfill", headers=headers).get_json()
    assert after["to_invite"] == 0 and after["opportunity_ids"] == []


def test_the_api_refuses_bad_input_with_json_that_names_the_problem(hub_app, seeded, ready, fakes):
    _source, assess = fakes
    api = hub_app.test_client()
    headers = api_headers(seeded, "super_admin")
    url = f"/api/v1/attachments/{ready}/backfill"

    def error(answer, status):
        assert answer.status_code == status, answer.get_data(as_text=True)
        assert answer.mimetype == "application/json"
        return answer.get_json()["error"]

    for method in ("GET", "POST"):
        missing = error(api.open("/api/v1/attachments/999999/backfill", method=method, headers=headers), 404)
        assert missing["code"] == "not_found" and "attachment" in missing["message"]
        other = error(api.open(f"/api/v1/attachments/{seeded.other['attachment_id']}/backfill", method=method,
                               headers=headers), 404)
        assert other["code"] == "not_found"
        assert error(api.open("/api/v1/attachments/abc/backfill", method=method, headers=headers), 404)["code"] \
            == "not_found"
    not_an_object = error(api.post(url, headers=headers, json=[ready]), 422)
    assert not_an_object["code"] == "validation_failed" and "JSON object" in not_an_object["message"]
    unknown = error(api.post(url, headers=headers, json={"attachment_id": "abc"}), 422)
    assert unknown["message"] == "unknown field: attachment_id" and "attachment_id" in unknown["fields"]
    not_json = error(api.post(url, headers={**headers, "Content-Type": "application/json"}, data="{nope"), 400)
    assert not_json["code"] == "bad_request"
    assert assess.sent == [] and _backfill_events(hub_app) == []


def test_a_source_failure_or_too_many_candidates_is_said_and_nothing_is_queued(
        hub_app, seeded, as_role, ready, fakes, monkeypatch):
    source, assess = fakes
    client = as_role("admin")
    api = hub_app.test_client()
    headers = api_headers(seeded, "admin")
    url = f"/api/v1/attachments/{ready}/backfill"
    source.fail = vendor_error("the ATS is down")
    page = client.get(f"/pipeline/{ready}/backfill").get_data(as_text=True)
    assert 'id="backfill-error"' in page and "Fake ATS: the ATS is down." in page and 'id="backfill-confirm"' not in page
    flashed = client.post(f"/pipeline/{ready}/backfill", follow_redirects=True).get_data(as_text=True)
    assert "Fake ATS: the ATS is down." in flashed
    for method in ("GET", "POST"):
        answer = api.open(url, method=method, headers=headers)
        assert answer.status_code == 502 and answer.get_json()["error"] == {
            "code": "vendor_error", "message": "Fake ATS: the ATS is down"}
    source.fail = None
    hub_app.config["BACKFILL_MAX_CANDIDATES"] = 2  # HUB_BACKFILL_MAX_CANDIDATES
    too_many = api.post(url, headers=headers)
    assert too_many.status_code == 409 and too_many.get_json()["error"]["code"] == "too_many_candidates"
    message = too_many.get_json()["error"]["message"]
    assert "More than 2 candidates are in “Stage 1” of Python Developer" in message
    assert "Move some of them on in Fake ATS first, or ask your operator to raise HUB_BACKFILL_MAX_CANDIDATES" in message
    assert api.get(url, headers=headers).status_code == 409
    hub_app.config["BACKFILL_MAX_CANDIDATES"] = 50
    listed = api.get(url, headers=headers).get_json()
    assert listed["limit"] == 50 and 2 < listed["in_stage"] <= 50
    assert assess.sent == [] and _backfill_events(hub_app) == []


def test_a_source_without_the_hook_gets_no_backfill(make_app):
    """The web tests' plain fake ATS cannot list a stage's candidates: the pipeline says so, with
    no button, and the API answers accordingly."""
    assess = InvitingAssess()
    app = make_app(plugins=[("fakesource", FakeSource()), ("fakeassess", assess)], entry_points=False)
    seeded = seed(app)
    attachment = seeded.ids["attachment"]
    client = app.test_client()
    sign_in(client, seeded.email("super_admin"))
    listing = client.get("/pipeline").get_data(as_text=True)
    assert 'id="backfill-unavailable"' in listing and "Backfill is not available for Fake ATS" in listing
    assert f'id="backfill-{attachment}"' not in listing
    page = client.get(f"/pipeline/{attachment}/backfill").get_data(as_text=True)
    assert "Backfill is not available for Fake ATS" in page and 'id="backfill-confirm"' not in page
    assert "Backfill is not available for Fake ATS" in client.post(
        f"/pipeline/{attachment}/backfill", follow_redirects=True).get_data(as_text=True)
    api = app.test_client()
    headers = api_headers(seeded, "admin")
    preview = api.get(f"/api/v1/attachments/{attachment}/backfill", headers=headers).get_json()
    assert preview["available"] is False and preview["to_invite"] is None
    assert "Backfill is not available for Fake ATS" in preview["unavailable_reason"]
    refused = api.post(f"/api/v1/attachments/{attachment}/backfill", headers=headers)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "backfill_unavailable"
    assert assess.sent == []


def test_a_backfill_invites_to_its_own_attachment_not_to_the_stage_s_other_assessments(
        hub_app, seeded, as_role, ready, fakes):
    """Two assessments of one provider on one stage: backfilling one invited everyone to both,
    since the provider took the made-up stage change for a real move."""
    from tests.web.support import _attachment

    with hub_app.app_context():
        other = _attachment(seeded.workspace_id, assessment="go", name="Go Developer").id
        db.session.commit()
    as_role("super_admin").post(f"/pipeline/{ready}/backfill")
    assert {o: s for o, s in _invitations(hub_app, ready).items() if o in IN_STAGE} == {o: INVITED for o in IN_STAGE}
    assert _invitations(hub_app, other) == {}  # the other attachment waits for its own backfill or a move
    as_role("super_admin").post(f"/pipeline/{other}/backfill")
    # its own backfill: the same four candidates of the stage, the seeded one included
    assert set(_invitations(hub_app, other)) == set(_invitations(hub_app, ready))


# --------------------------------------------------------------------------- an earlier backfill that ended


def _backfill_deliveries(app) -> dict[str, str]:
    """Each backfill event's id -> the status of its delivery."""
    with app.app_context():
        rows = db.session.execute(sa.select(Event.external_id, Delivery.status).join(Delivery).where(
            Event.external_id.like("backfill:%"))).all()
        db.session.rollback()
    return dict(rows)


def test_a_candidate_whose_backfill_failed_for_good_is_invited_again(hub_app, seeded, as_role, ready, fakes):
    """The provider's permanent failure killed the deliveries without an invitation: the next
    backfill invites those candidates (under a new event id), where before they stayed "queued
    earlier" until retention forgot the events."""
    source, assess = fakes
    client = as_role("admin")
    source.read_error = PermanentError("the ATS refused the key")
    assert "3 invitations queued" in client.post(f"/pipeline/{ready}/backfill", follow_redirects=True).get_data(
        as_text=True)
    assert set(_backfill_deliveries(hub_app).values()) == {"dead"} and assess.sent == []
    source.read_error = None

    page = client.get(f"/pipeline/{ready}/backfill").get_data(as_text=True)
    assert 'id="backfill-queued"' not in page
    assert 'id="backfill-again">3 were queued by an earlier backfill that ended without an invitation' in page
    assert ">Invite 3 candidates already in this stage</button>" in page
    done = client.post(f"/pipeline/{ready}/backfill", data={"expected": "3"}, follow_redirects=True)
    assert "3 invitations queued; 1 already invited." in done.get_data(as_text=True)
    assert sorted(assess.sent) == list(IN_STAGE)
    assert _backfill_deliveries(hub_app) == {**{f"backfill:{ready}:{o}": "dead" for o in IN_STAGE},
                                             **{f"backfill:{ready}/2:{o}": "done" for o in IN_STAGE}}
    again = client.post(f"/pipeline/{ready}/backfill", follow_redirects=True).get_data(as_text=True)
    assert "0 invitations queued; 4 already invited." in again
    with hub_app.app_context():  # the audit log tells a first backfill from one that invites again
        entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "attachment.backfill")
                                     .order_by(AuditEntry.id)).all()
        assert [(e.detail["queued"], e.detail["invited_again"]) for e in entries] == [(3, 0), (3, 3), (0, 0)]


def test_a_backfill_cancelled_by_a_disable_is_invited_again_once_the_provider_is_back(
        hub_app, seeded, as_role, ready, fakes):
    source, assess = fakes
    client = as_role("super_admin")
    source.fail_reads = True  # the deliveries wait for a retry...
    client.post(f"/pipeline/{ready}/backfill")
    with hub_app.app_context():  # ...and the provider is disabled meanwhile: they are cancelled
        services.set_enabled(get_runtime(), seeded.workspace_id, "fakeassess", False, "test")
        services.set_enabled(get_runtime(), seeded.workspace_id, "fakeassess", True, "test")
    assert set(_backfill_deliveries(hub_app).values()) == {"cancelled"}
    source.fail_reads = False
    api = hub_app.test_client()
    preview = api.get(f"/api/v1/attachments/{ready}/backfill", headers=api_headers(seeded, "admin")).get_json()
    assert (preview["to_invite"], preview["invite_again"], preview["already_queued"]) == (3, 3, 0)
    done = api.post(f"/api/v1/attachments/{ready}/backfill", headers=api_headers(seeded, "admin"),
                    json={"expected": 3}).get_json()
    assert (done["queued"], done["already_queued"]) == (3, 0)
    assert sorted(assess.sent) == list(IN_STAGE)


def test_the_next_event_id_skips_every_id_already_taken(hub_app, seeded, ready, fakes):
    """The generation is one more than the highest kept, as an event or as a remembered id whose
    event retention purged; two computations from the same rows agree (two clicks at once are
    one event)."""
    from hub.engine.ingest import Staged, stage_events

    def stage(opportunity_id: str, generation: int, status: str | None):
        items = [Staged(seeded.workspace_id, backfill.SOURCE_NAME, InboundEvent(
            external_id=backfill.event_id(ready, opportunity_id, generation),
            event=StageChange(opportunity_id=opportunity_id, to_stage_id=STAGE, attachment_id=ready)))]
        [outcome] = stage_events(get_runtime(), items, enabled={seeded.workspace_id: {"fakeassess"}})
        if status is None:  # purged: the event went, its id is remembered until the dedupe window ends
            db.session.execute(sa.delete(Delivery).where(Delivery.event_id == outcome.event_id))
            db.session.execute(sa.delete(Event).where(Event.id == outcome.event_id))
        else:
            db.session.execute(sa.update(Delivery).where(Delivery.event_id == outcome.event_id).values(status=status))

    with hub_app.app_context():
        stage("opp-a", 1, "dead")
        stage("opp-a", 2, None)
        stage("opp-b", 1, None)
        stage("opp-c", 1, "done")  # delivered, yet no invitation (the candidate had moved on then)
        stage("opp-c", 3, "retry")  # still being delivered
        db.session.commit()
        ids = ["opp-a", "opp-b", "opp-c", "opp-new"]
        first = backfill.classify(seeded.workspace_id, ready, ids)
        second = backfill.classify(seeded.workspace_id, ready, ids)
        db.session.rollback()
    assert first == second
    assert (first.already_queued, first.to_invite, first.again) == (["opp-c"], ["opp-a", "opp-b", "opp-new"],
                                                                    ["opp-a", "opp-b"])
    assert first.event_ids == {"opp-a": f"backfill:{ready}/3:opp-a", "opp-b": f"backfill:{ready}/2:opp-b",
                               "opp-new": f"backfill:{ready}:opp-new"}


def test_an_id_taken_by_a_concurrent_backfill_between_the_reads_counts_as_queued(
        hub_app, seeded, ready, fakes, monkeypatch):
    """Another admin's backfill commits the same new event between this one's read of the events
    and of the remembered ids: the candidate is being delivered, not to invite under yet another id."""
    from hub.engine.ingest import Staged, stage_events

    read_events = backfill._earlier_events
    calls = []

    def and_then_a_concurrent_click(workspace_id, attachment_id, ids):
        found = read_events(workspace_id, attachment_id, ids)
        if not calls:
            stage_events(get_runtime(), [Staged(workspace_id, backfill.SOURCE_NAME, InboundEvent(
                external_id=backfill.event_id(attachment_id, "opp-a"),
                event=StageChange(opportunity_id="opp-a", to_stage_id=STAGE, attachment_id=attachment_id)))],
                enabled={workspace_id: {"fakeassess"}})
        calls.append(ids)
        return found

    monkeypatch.setattr(backfill, "_earlier_events", and_then_a_concurrent_click)
    with hub_app.app_context():
        sorting = backfill.classify(seeded.workspace_id, ready, ["opp-a", "opp-b"])
        db.session.rollback()
    assert (sorting.already_queued, sorting.to_invite) == (["opp-a"], ["opp-b"])
    assert calls == [["opp-a", "opp-b"], ["opp-a"]]


# --------------------------------------------------------------------------- what the admin confirmed


def test_the_page_refuses_when_the_stage_changed_since_it_was_shown(hub_app, seeded, as_role, ready, fakes):
    source, assess = fakes
    client = as_role("admin")
    page = client.get(f"/pipeline/{ready}/backfill").get_data(as_text=True)
    assert '<input type="hidden" name="expected" value="3">' in page
    source.put("opp-d")  # someone moved a fourth candidate in meanwhile

    refused = client.post(f"/pipeline/{ready}/backfill", data={"expected": "3"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert ('id="backfill-changed">The stage changed since you looked: 4 candidates would be invited now, more '
            'than the 3 you confirmed. Nothing was queued: review the list again.') in html
    assert "<strong>4 candidates</strong> are in this stage without an invitation." in html
    assert '<input type="hidden" name="expected" value="4">' in html
    assert _backfill_events(hub_app) == [] and assess.sent == []
    with hub_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
            AuditEntry.action == "attachment.backfill")) == 0

    done = client.post(f"/pipeline/{ready}/backfill", data={"expected": "4"}, follow_redirects=True)
    assert "4 invitations queued; 1 already invited." in done.get_data(as_text=True)
    assert sorted(assess.sent) == sorted([*IN_STAGE, "opp-d"])


def test_a_second_click_on_the_same_page_is_no_stage_change(hub_app, seeded, as_role, ready, fakes):
    """The page's button sent twice (a double click, or a second admin on the same page): the
    second finds the first one's candidates invited (or still being delivered), fewer to invite
    than it confirmed, which is no reason to refuse; nobody is queued twice."""
    _source, assess = fakes
    client = as_role("admin")
    assert '<input type="hidden" name="expected" value="3">' in client.get(f"/pipeline/{ready}/backfill").get_data(
        as_text=True)
    first = client.post(f"/pipeline/{ready}/backfill", data={"expected": "3"}, follow_redirects=True)
    assert "3 invitations queued; 1 already invited." in first.get_data(as_text=True)
    second = client.post(f"/pipeline/{ready}/backfill", data={"expected": "3"}, follow_redirects=True)
    assert second.status_code == 200
    assert "0 invitations queued; 4 already invited." in second.get_data(as_text=True)
    assert len(_backfill_events(hub_app)) == 3 and sorted(assess.sent) == list(IN_STAGE)


def test_a_long_digit_string_as_the_expected_count_is_refused_not_a_500(hub_app, seeded, as_role, ready, fakes):
    refused = as_role("admin").post(f"/pipeline/{ready}/backfill", data={"expected": "1" * 5000})
    assert refused.status_code == 422
    assert "(field expected) is not a whole number of 0 or more" in refused.get_data(as_text=True)


def test_the_page_refuses_an_expected_count_that_is_no_count(hub_app, seeded, as_role, ready, fakes):
    _source, assess = fakes
    client = as_role("admin")
    for value in ("three", "-1", "2.5", ""):
        refused = client.post(f"/pipeline/{ready}/backfill", data={"expected": value})
        assert refused.status_code == 422, value
        assert "(field expected) is not a whole number of 0 or more" in refused.get_data(as_text=True)
    assert _backfill_events(hub_app) == [] and assess.sent == []


def test_the_api_checks_the_expected_count_when_given(hub_app, seeded, ready, fakes):
    source, assess = fakes
    api = hub_app.test_client()
    headers = api_headers(seeded, "admin")
    url = f"/api/v1/attachments/{ready}/backfill"
    for value in ("3", -1, 2.5, True, None):
        answer = api.post(url, headers=headers, json={"expected": value})
        assert answer.status_code == 422, value
        error = answer.get_json()["error"]
        assert error["code"] == "validation_failed" and error["message"] == "invalid field: expected"
        assert list(error["fields"]) == ["expected"]
    changed = api.post(url, headers=headers, json={"expected": 2})
    assert changed.status_code == 409 and changed.get_json()["error"] == {
        "code": "stage_changed",
        "message": "The stage changed since you looked: 3 candidates would be invited now, more than the 2 "
                   "you confirmed. Nothing was queued: review the list again."}
    assert _backfill_events(hub_app) == [] and assess.sent == []
    done = api.post(url, headers=headers, json={"expected": 3})
    assert done.status_code == 200 and done.get_json()["queued"] == 3
    # nobody is left to invite: expecting 0 is right now, and a retry of the call above is no error
    assert api.post(url, headers=headers, json={"expected": 0}).get_json()["already_invited"] == 4
    retried = api.post(url, headers=headers, json={"expected": 3})
    assert retried.status_code == 200 and retried.get_json()["queued"] == 0


def test_the_openapi_document_describes_the_expected_count(hub_app, seeded):
    document = hub_app.test_client().get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/attachments/{attachment_id}/backfill"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BackfillRun"}
    assert operation["requestBody"]["required"] is False and "409" in operation["responses"]
    schema = document["components"]["schemas"]["BackfillRun"]
    assert schema["properties"]["expected"]["type"] == "integer" and schema["properties"]["expected"]["minimum"] == 0
    assert schema["additionalProperties"] is False and "required" not in schema


# --------------------------------------------------------------------------- one attachment lookup


def test_the_engine_and_the_web_share_one_attachment_lookup(hub_app, seeded, ready, monkeypatch):
    from hub.errors import NotFound
    from hub.store import attachments
    from hub.store.models import Attachment
    from hub.web import queries

    assert backfill.get_attachment is attachments.get_attachment
    with hub_app.app_context():
        row = attachments.get_attachment(seeded.workspace_id, ready)
        with pytest.raises(NotFound):
            attachments.get_attachment(seeded.workspace_id + 1000, ready)
        # detached by another request: the session's copy says otherwise until read afresh
        db.session.execute(sa.update(Attachment).where(Attachment.id == ready).values(detached_at=utcnow())
                           .execution_options(synchronize_session=False))
        assert attachments.get_attachment(seeded.workspace_id, ready) is row
        with pytest.raises(NotFound):
            attachments.get_attachment(seeded.workspace_id, ready, fresh=True)
        db.session.rollback()
        seen = []
        monkeypatch.setattr(attachments, "get_attachment", lambda *args, **kwargs: seen.append((args, kwargs)))
        queries.get_attachment(seeded.workspace_id, ready)
    assert seen == [((seeded.workspace_id, ready), {})]


def test_a_backfilled_candidates_timeline_says_they_were_already_in_the_stage(hub_app, seeded, as_role, ready, fakes):
    """The first entry read "Stage change, reported by Fake ATS: moved into ...": a move that never
    happened, credited to the ATS. A webhook's invitation keeps its stage change."""
    from hub.store.models import TimelineEntry

    as_role("admin").post(f"/pipeline/{ready}/backfill")
    run_deliveries(hub_app)
    with hub_app.app_context():
        ingest(get_runtime(), seeded.workspace_id, "fakesource",
               InboundEvent(external_id="lever-evt-late", event=StageChange(opportunity_id="opp-a", to_stage_id=STAGE)))
    run_deliveries(hub_app)  # Lever's own webhook for one of them, late: the invitation exists, nothing is added
    with hub_app.app_context():
        invitation = db.session.scalar(sa.select(Invitation).where(Invitation.attachment_id == ready,
                                                                   Invitation.opportunity_id == "opp-a"))
        first = db.session.scalars(sa.select(TimelineEntry).where(TimelineEntry.invitation_id == invitation.id)
                                   .order_by(TimelineEntry.at, TimelineEntry.id)).first()
        assert (first.kind, first.source) == ("already_in_stage", "hub")
        assert first.detail.endswith("when an admin asked to invite the candidates already there")
        invitation_id, entry_id = invitation.id, first.id
        db.session.rollback()
    page = as_role("admin").get(f"/candidates/{invitation_id}").get_data(as_text=True)
    head = re.search(rf'id="timeline-{entry_id}" data-kind="already_in_stage">(.*?)</li>', page, re.S).group(1)
    assert "Already in stage" in head and "by the hub" in head and "reported by" not in head


def test_only_a_backfills_own_event_counts_as_an_admins_request(hub_app, seeded, ready, fakes):
    """An event from the hub's source whose id is not a backfill's (as ``is_backfill_event``
    decides, like Activity does) is not credited to an admin's "invite those already there"."""
    from hub.store.models import TimelineEntry

    with hub_app.app_context():
        ingest(get_runtime(), seeded.workspace_id, "hub",
               InboundEvent(external_id="not-a-backfill-1", event=StageChange(opportunity_id="opp-a", to_stage_id=STAGE)))
    run_deliveries(hub_app)
    with hub_app.app_context():
        invitation = db.session.scalar(sa.select(Invitation).where(Invitation.attachment_id == ready,
                                                                   Invitation.opportunity_id == "opp-a"))
        first = db.session.scalars(sa.select(TimelineEntry).where(TimelineEntry.invitation_id == invitation.id)
                                   .order_by(TimelineEntry.at, TimelineEntry.id)).first()
        assert first.kind == "stage_change"
        db.session.rollback()


def test_a_sources_unexpected_failure_is_shown_by_its_type_and_logged(hub_app, seeded, as_role, ready, fakes, caplog):
    """An exception the source plugin did not mean to raise may quote a secret (a header value): the
    page and the API say its type and point to the log, which has its text."""
    source, _ = fakes
    source.fail = KeyError("sk-live-SECRET")
    with caplog.at_level(logging.ERROR, logger="hub.engine.backfill"):
        page = as_role("admin").get(f"/pipeline/{ready}/backfill").get_data(as_text=True)
    assert "Fake ATS failed: KeyError (the hub&#39;s log has the details)" in page and "sk-live-SECRET" not in page
    answer = hub_app.test_client().get(f"/api/v1/attachments/{ready}/backfill", headers=api_headers(seeded, "admin"))
    assert answer.status_code == 502 and "sk-live-SECRET" not in answer.get_data(as_text=True)
    assert "sk-live-SECRET" in caplog.text  # the operator's log keeps it
