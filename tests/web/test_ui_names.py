"""Pages name things as people know them, not by the hub's internal ids (found walking the admin UI
as each role): the Audit log's targets and roles, and the subjects of Activity's events."""

from __future__ import annotations

import itertools
import re

from hub import services
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import AuditEntry, Event, Invitation, User


def audit_rows(page: str) -> str:
    """The audit table's body (the filter form above it mentions actions too)."""
    return page.split('id="audit-table"', 1)[1]


def test_audit_names_plugins_attachments_invitations_and_roles(hub_app, seeded, as_role):
    with hub_app.app_context():
        ws, admin = seeded.workspace_id, db.session.get(User, seeded.users["admin"])
        services.set_enabled(get_runtime(), ws, "fakesource", False, admin)
        services.set_enabled(get_runtime(), ws, "fakesource", True, admin)
        services.audit(ws, admin, "attachment.save", f"attachment:{seeded.ids['attachment']}")
        services.audit(ws, admin, "invitation.cancel", f"invitation:{seeded.ids['invitation']}")
        services.audit(ws, admin, "user.role", "user:someone@acme.test", old="team_member", new="limited_team_member")
        services.audit(ws, admin, "api_token.revoke", "token:reporting")
        db.session.commit()

    page = audit_rows(as_role("admin").get("/audit").get_data(as_text=True))

    # a plugin by its title, linked to its page; never "plugin:fakeassess"
    assert "plugin:" not in page
    assert re.search(r'<a href="/integrations/fakesource">Fake ATS</a>', page)
    # an attachment as its assessment, stage and posting, linked to its edit page
    assert "attachment:" not in page
    assert (f'<a href="/pipeline/{seeded.ids["attachment"]}/edit">Python Developer on “Stage 1” of Python Developer</a>'
            in page)
    # an invitation as its candidate, linked to the candidate's page
    assert "invitation:" not in page
    assert f'<a href="/candidates/{seeded.ids["invitation"]}">Ada Lovelace: Python Developer</a>' in page
    # roles by name, users by email, tokens by name
    assert '<span class="muted">Old:</span> Team Member<' in page
    assert '<span class="muted">New:</span> Limited Team Member<' in page
    assert not re.search(r"</span> (super_admin|admin|team_member|limited_team_member)<", page)
    assert "user:" not in page and "someone@acme.test" in page
    assert "API token “reporting”" in page and "token:" not in page


def test_audit_target_of_another_workspace_or_gone_keeps_kind_and_id(hub_app, seeded, as_role):
    """An id the viewer's workspace does not have is not looked up elsewhere: its kind and id only."""
    with hub_app.app_context():
        db.session.add(AuditEntry(workspace_id=seeded.workspace_id, actor="test", action="attachment.detach",
                                target=f"attachment:{seeded.other['attachment_id']}", detail={}))
        db.session.commit()
    page = audit_rows(as_role("admin").get("/audit").get_data(as_text=True))
    assert f"Attachment {seeded.other['attachment_id']}" in page


_numbers = itertools.count(1)


def add_event(ws: int, subject: str, source: str = "fakesource", type_: str = "stage_change") -> int:
    event = Event(workspace_id=ws, source_plugin=source, type=type_, external_id=f"walk-{next(_numbers)}",
                  subject=subject, payload={})
    db.session.add(event)
    db.session.flush()
    return event.id


def event_card(page: str, event_id: int) -> str:
    return page.split(f'id="event-{event_id}"', 1)[1].split("</header>", 1)[0]


def test_activity_names_the_candidate_an_event_is_about(hub_app, seeded, as_role):
    with hub_app.app_context():
        ws = seeded.workspace_id
        invitation = seeded.ids["invitation"]
        opportunity = db.session.get(Invitation,
                                     invitation).opportunity_id
        moved = add_event(ws, opportunity)                      # a stage change of Ada's opportunity
        progress = add_event(ws, f"invitation:{invitation}", source="hub", type_="invitation_progress")
        stranger = add_event(ws, "opp-nobody-knows")           # no invitation for it yet
        foreign = add_event(ws, f"invitation:{seeded.other['invitation_id']}", source="hub",
                            type_="invitation_progress")     # another workspace's invitation id
        db.session.commit()

    page = as_role("admin").get("/activity").get_data(as_text=True)

    for event_id in (moved, progress):
        card = event_card(page, event_id)
        assert f'<a href="/candidates/{invitation}">Ada Lovelace</a>' in card
        assert opportunity not in card and "invitation:" not in card
    assert "from the hub" in event_card(page, progress) and "from hub<" not in event_card(page, progress)
    assert "candidate opp-nobody-knows in Fake ATS" in event_card(page, stranger)
    card = event_card(page, foreign)
    assert "/candidates/" not in card and f"invitation {seeded.other['invitation_id']}" in card


def test_odd_subjects_and_targets_are_shown_as_written_never_a_500(hub_app, seeded, as_role):
    """A source's opportunity id is whatever the ATS sends: one that looks like "invitation:<n>"
    is still the source's (not hub invitation n's candidate), and digits Python reads but the
    database cannot hold (non-ASCII, beyond the id range) are text, not a 500."""
    with hub_app.app_context():
        ws, invitation = seeded.workspace_id, seeded.ids["invitation"]
        look_alike = add_event(ws, f"invitation:{invitation}")  # a Lever opportunity id, as sent
        odd = [add_event(ws, subject, source="hub", type_="invitation_progress")
               for subject in ("invitation:²", "invitation:99999999999999999999", "invitation:")]
        for target in ("invitation:²", "attachment:99999999999999999999", "invitation:-1"):
            db.session.add(AuditEntry(workspace_id=ws, actor="test", action="invitation.cancel", target=target,
                                      detail={}))
        db.session.commit()
    client = as_role("admin")
    activity = client.get("/activity")
    assert activity.status_code == 200
    page = activity.get_data(as_text=True)
    card = event_card(page, look_alike)
    assert f"candidate invitation:{invitation} in Fake ATS" in card and "/candidates/" not in card
    assert "invitation ²" in event_card(page, odd[0])
    assert "invitation 99999999999999999999" in event_card(page, odd[1])
    audit = client.get("/audit")
    assert audit.status_code == 200
    rows = audit_rows(audit.get_data(as_text=True))
    assert "Invitation ²" in rows and "Attachment 99999999999999999999" in rows and "Invitation -1" in rows
