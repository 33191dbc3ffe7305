"""Words the pages said that their reader could not use: an Admin, who sees an integration
read-only, was told what to enable (and the page called an enabled integration "not set up", or a
disabled one with credentials); Replay said "Delivery 123 to Canditech is replayed", and the Audit
log named a replay "Delivery 123"; a Users form sent by hand with a role that is none was answered
with the roles' codes (``limited_team_member``), and a Deactivate that was none with the field's."""

from __future__ import annotations

import re
from html import unescape

import sqlalchemy as sa

from hub import hookimpl
from hub.entities import ConnectionState, RegisteredWebhook
from hub.extensions import db
from hub.store.models import AuditEntry, Delivery, Integration, Invitation, User
from tests.web.support import FakeAssess, FakeSource, seed, sign_in

CODES = ("super_admin", "team_member", "limited_team_member")


def _main(html: str) -> str:
    """The page's main content as text (no tags, entities read, whitespace collapsed)."""
    main = html.split('id="main"', 1)[1]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", main)))


def _flashes(html: str) -> list[str]:
    """The page's flashed messages, but the sign-in's own ("Signed in as ...")."""
    found = re.findall(r'<div class="alert alert--\w+" role="\w+">(.*?)</div>',
                       html.split('id="flashes"', 1)[-1].split("</main>")[0], re.S)
    return [unescape(text).strip() for text in found if not text.startswith("Signed in as ")]


def _integration(app, **changes) -> None:
    with app.app_context():
        row = db.session.scalar(sa.select(Integration).where(Integration.plugin == "fakesource"))
        for name, value in changes.items():
            setattr(row, name, value)
        db.session.commit()


# --------------------------------------------------------------------------- Integrations, read-only


def _next_step(html: str) -> str:
    found = re.search(r'<div class="alert alert--\w+" id="next-step">(.*?)</div>', html, re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", found.group(1)))).strip() if found else ""


def test_an_admin_reads_the_integrations_state_and_who_changes_it_not_what_to_do(hub_app, seeded, as_role):
    admin, owner = as_role("admin"), as_role("super_admin")
    # enabled, without credentials: not "A Super Admin enables it" (it is enabled)
    owner.post("/integrations/fakesource/revoke")
    owner.post("/integrations/fakesource/enable")
    html = admin.get("/integrations/fakesource").get_data(as_text=True)
    assert _next_step(html) == "Not connected yet. Fake ATS is enabled but has no credentials: a Super Admin can enter them."
    # the settings say what is set, not "Choose…": nothing can be chosen on a read-only page
    assert "Choose…" not in _main(html) and '<option value="">Not set</option>' in html
    assert "Choose…" in owner.get("/integrations/fakesource").get_data(as_text=True)
    # disabled, with credentials: not "Not set up yet"
    owner.post("/integrations/fakesource/settings", data={"account": "acme", "api_key": "k-1", "region": "eu",
                                                           "max_rate": "10"})
    owner.post("/integrations/fakesource/disable")
    html = admin.get("/integrations/fakesource").get_data(as_text=True)
    assert _next_step(html) == ("Disabled. Fake ATS has credentials but is disabled: it receives and sends no work "
                                "until a Super Admin enables it.")
    # failing: who can fix it
    owner.post("/integrations/fakesource/enable")
    _integration(hub_app, status="needs_reauthorization", status_message="Fake ATS refused the key")
    html = admin.get("/integrations/fakesource").get_data(as_text=True)
    assert _next_step(html) == ("Connection failing. The last test or use of the connection failed: a Super Admin "
                                "can change its credentials and settings.")
    assert "Next step" in _next_step(owner.get("/integrations/fakesource").get_data(as_text=True))


def test_a_revoked_integrations_webhook_url_is_no_instruction_to_an_admin(hub_app, seeded, as_role):
    admin, owner = as_role("admin"), as_role("super_admin")
    owner.post("/integrations/fakesource/revoke")
    said = re.search(r'id="webhook-url-missing">(.*?)</p>', admin.get("/integrations/fakesource").get_data(as_text=True),
                     re.S).group(1)
    assert said == ("The old webhook URL stopped working when access was revoked. A new one is made when a Super "
                    "Admin enables Fake ATS again.")
    told = re.search(r'id="webhook-url-missing">(.*?)</p>', owner.get("/integrations/fakesource").get_data(as_text=True),
                     re.S).group(1)
    assert told.endswith("Enable Fake ATS again to get a new one.")


class SourceWithWebhooks(FakeSource):
    """The fake ATS, with webhooks it registered itself and a setting only needed for manual ones."""

    @hookimpl
    def connection_state(self, ctx):
        return ConnectionState(webhooks=(RegisteredWebhook("stage_change", "Stage change"),),
                               manual_secret_field="signature_token")


def test_the_manual_signature_field_tells_only_a_super_admin_to_paste(make_app):
    app = make_app(plugins=[("fakesource", SourceWithWebhooks()), ("fakeassess", FakeAssess())], entry_points=False)
    seeded = seed(app)

    def state(role: str) -> str:
        client = app.test_client()
        sign_in(client, seeded.email(role))
        html = client.get("/integrations/fakesource").get_data(as_text=True)
        return unescape(re.search(r'id="setting-signature_token-state">(.*?)</span>', html, re.S).group(1))

    assert "(paste the new token here)" in state("super_admin")
    admin = state("admin")
    assert "paste" not in admin
    assert admin == ("Not set: only needed for webhooks added by hand in Fake ATS, or for a webhook the hub "
                     "registered whose signature token was regenerated there since; the tokens of the 1 webhook "
                     "the hub registered are stored separately.")


# --------------------------------------------------------------------------- Activity's Replay, the Audit log


def test_replay_says_which_step_for_whom_and_which_plugin_not_a_delivery_id(hub_app, seeded, as_role):
    delivery_id = seeded.per_role["admin"]["dlv_ui"]
    with hub_app.app_context():
        ada = db.session.get(Invitation, seeded.ids["invitation"])
        event = db.session.get(Delivery, delivery_id).event
        event.subject = ada.opportunity_id  # a stage change of Ada Lovelace's
        db.session.commit()
    client = as_role("admin")
    flashes = _flashes(client.post(f"/activity/deliveries/{delivery_id}/replay", follow_redirects=True)
                       .get_data(as_text=True))
    assert flashes == ["“Invite on the stage change” for Ada Lovelace (Fake Tests) is queued to run again."]
    # a retrying one runs now, before its time
    other = seeded.per_role["admin"]["dlv_api"]
    with hub_app.app_context():
        row = db.session.get(Delivery, other)
        row.status = "retry"
        opportunity = row.event.subject
        db.session.commit()
    flashes = _flashes(client.post(f"/activity/deliveries/{other}/replay", follow_redirects=True)
                       .get_data(as_text=True))
    assert flashes == [f"“Invite on the stage change” for candidate {opportunity} in Fake ATS (Fake Tests) is queued "
                       "to run now, without waiting for its next retry."]
    assert not any(f"Delivery {delivery_id}" in text or f"Delivery {other}" in text for text in flashes)


def test_the_audit_log_names_a_replayed_delivery_as_activity_does(hub_app, seeded, as_role):
    delivery_id = seeded.per_role["admin"]["dlv_ui"]
    with hub_app.app_context():
        ada = db.session.get(Invitation, seeded.ids["invitation"])
        delivery = db.session.get(Delivery, delivery_id)
        delivery.event.subject = ada.opportunity_id
        event_id = delivery.event_id
        db.session.commit()
    client = as_role("admin")
    client.post(f"/activity/deliveries/{delivery_id}/replay")
    with hub_app.app_context():
        entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "delivery.replay")
                                  .order_by(AuditEntry.id.desc()))
        entry_id = entry.id
        # a replay whose delivery retention has deleted since keeps its number, said to be gone
        db.session.add(AuditEntry(workspace_id=1, actor="hub", action="delivery.replay", target="delivery:987654321012",
                                  detail={}))
        db.session.commit()
    html = client.get("/audit?action=delivery.").get_data(as_text=True)
    cell = re.search(rf'<tr id="audit-{entry_id}">.*?<td class="audit-target" data-label="Target">(.*?)</td>',
                     html, re.S).group(1)
    assert cell == f'<a href="/activity?event={event_id}">“Invite on the stage change” for Ada Lovelace (Fake Tests)</a>'
    assert "Delivery 987654321012, no longer kept" in html
    assert f">Delivery {delivery_id}<" not in html


# --------------------------------------------------------------------------- Users


def test_a_role_change_to_no_role_is_refused_in_the_roles_names(hub_app, seeded, as_role):
    target = seeded.users["team_member"]
    for role, names in (("super_admin", "Super Admin, Admin, Team Member or Limited Team Member"),
                        ("admin", "Admin, Team Member or Limited Team Member")):
        client = as_role(role)
        for sent in ({"role": "bogus"}, {"role": ""}, {"role": "Limited Team Member"}, {}):
            answer = client.post(f"/users/{target}/role", data=sent)
            html = answer.get_data(as_text=True)
            assert answer.status_code == 422 and 'id="users-table"' in html
            flashes = _flashes(html)
            assert flashes == [f"team_member@acme.test is unchanged: choose one of the roles offered ({names})."], sent
            assert not any(code in flashes[0].replace("team_member@acme.test", "") for code in CODES)
    with hub_app.app_context():
        assert db.session.get(User, target).role == "team_member"
    # a role the Admin may not give: a 403 naming it
    refused = as_role("admin").post(f"/users/{target}/role", data={"role": "super_admin"})
    assert refused.status_code == 403 and "Your role cannot make someone a Super Admin." in refused.get_data(as_text=True)


def test_adding_a_user_with_a_role_not_offered_names_the_roles_offered(hub_app, seeded, as_role):
    client = as_role("admin")
    cases = {"bogus": "Choose one of the roles offered: Admin, Team Member or Limited Team Member.",
             "": "Choose one of the roles offered: Admin, Team Member or Limited Team Member.",
             "super_admin": "Your role cannot create a Super Admin: choose Admin, Team Member or Limited Team Member."}
    for role, message in cases.items():
        answer = client.post("/users", data={"email": f"new-{len(role)}@acme.test", "role": role})
        html = answer.get_data(as_text=True)
        assert answer.status_code == 422
        error = unescape(re.search(r'<p class="field-error" id="new-role-error">(.*?)</p>', html, re.S).group(1))
        assert error == message, role
    with hub_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.email.like("new-%"))) == 0


def test_a_deactivate_that_is_none_is_answered_in_the_pages_words(hub_app, seeded, as_role):
    target = seeded.users["team_member"]
    client = as_role("admin")
    for form in ({"active": "maybe"}, {"active": ""}, {}):
        html = client.post(f"/users/{target}/active", data=form).get_data(as_text=True)
        assert _flashes(html) == ["The form said neither Deactivate nor Reactivate, so team_member@acme.test is "
                                  "unchanged: use the button on their row."]

