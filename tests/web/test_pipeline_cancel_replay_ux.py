"""Rough edges found by a UX review of the attach form, the cancel dialog and Activity's Replay:

- the attach form's "use the integration's setting" choice says whose setting it is and what it is
  now (read from the integration's settings, as its schema declares them: no vendor named in the hub);
- a thumbs down archives a rejected candidate: the source's reasons for hired candidates are not
  offered for it, a form sending one is refused, and an attachment saved with one says so;
- after attaching, the message says the candidates already in the stage are not invited, and
  links to the backfill;
- cancelling with the provider disconnected names the provider (it is the vendor) and says the
  candidate can still take the test;
- Replay of a delivery whose plugin is not enabled is shown disabled, with the reason, instead of
  a click that ends in a refusal (which stays, for the API and a stale page)."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa
from marshmallow import fields

from hub import hookimpl, services
from hub.entities import ArchiveReason, Assessment, IntegrationSpec
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Attachment, Delivery, Integration, Invitation
from tests.web.support import (FakeAssess, FakeAssessSettings, FakeSource, FakeSourceSettings, _dead_delivery,
                               _invitation, api_headers, seed, sign_in)


class SourceSettings(FakeSourceSettings):
    tag_results = fields.Boolean(load_default=True)


class AssessSettings(FakeAssessSettings):
    remind_on_reentry = fields.Boolean(load_default=False)


class ConfiguredSource(FakeSource):
    """The fake ATS with a "tag results" setting, typed archive reasons, and a stage's candidates
    (so that backfill is offered)."""

    def __init__(self):
        super().__init__()
        self.archive_reasons = [ArchiveReason("reason-1", "Not a fit", "non-hired"),
                                ArchiveReason("reason-hired", "Hired", "hired"),
                                ArchiveReason("reason-2", "Withdrew", "non-hired")]

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind="source", title="Fake ATS", settings_schema=SourceSettings,
                                 secret_fields=("api_key", "signature_token")))

    @hookimpl
    def source_list_stage_candidates(self, ctx, posting_id, stage_id, limit):
        return []


class ConfiguredAssess(FakeAssess):
    """The fake provider with a "remind on re-entry" setting."""

    title = "Fake Tests"

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind="assessment", title=self.title, settings_schema=AssessSettings,
                                 secret_fields=("api_key",)))


class OtherAssess(ConfiguredAssess):
    title = "Other Tests"


@pytest.fixture
def fakes():
    return ConfiguredSource(), ConfiguredAssess()


def default_choice(html: str, name: str) -> str:
    select = re.search(rf'<select id="{name}" name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no {name} choice"
    return unescape(re.search(r'<option value=""[^>]*>(.*?)</option>', select.group(1)).group(1))


def field_error(html: str, error_id: str) -> str | None:
    match = re.search(rf'<p class="field-error" id="{error_id}">(.*?)</p>', html, re.S)
    return unescape(match.group(1)) if match else None


def set_setting(app, plugin: str, **values) -> None:
    with app.app_context():
        row = db.session.scalar(sa.select(Integration).where(Integration.workspace_id == 1,
                                                             Integration.plugin == plugin))
        row.settings = {**(row.settings or {}), **values}
        db.session.commit()


# --------------------------------------------------------------------------- the integration's setting


def test_the_default_choice_says_whose_setting_it_is_and_what_it_is_now(hub_app, seeded, as_role):
    client = as_role("admin")
    page = client.get("/pipeline/new?posting_id=p1").get_data(as_text=True)
    # nothing saved for them: the schemas' defaults
    assert default_choice(page, "remind_on_reentry") == "Use Fake Tests' setting (currently: No)"
    assert default_choice(page, "tag_results") == "Use Fake ATS's setting (currently: Yes)"
    with hub_app.app_context():
        services.save_settings(get_runtime(), 1, "fakeassess", {"remind_on_reentry": "true"}, "test")
    set_setting(hub_app, "fakesource", tag_results=False)
    page = client.get("/pipeline/new?posting_id=p1").get_data(as_text=True)
    assert default_choice(page, "remind_on_reentry") == "Use Fake Tests' setting (currently: Yes)"
    assert default_choice(page, "tag_results") == "Use Fake ATS's setting (currently: No)"


def test_with_two_providers_having_the_setting_the_choice_names_each(make_app):
    app = make_app(plugins=[("fakesource", ConfiguredSource()), ("fakeassess", ConfiguredAssess()),
                            ("otherassess", OtherAssess())], entry_points=False)
    seed(app)
    with app.app_context():
        services.set_enabled(get_runtime(), 1, "otherassess", True, "test")
    set_setting(app, "otherassess", remind_on_reentry=True)
    client = app.test_client()
    sign_in(client, "admin@acme.test")
    page = client.get("/pipeline/new?posting_id=p1").get_data(as_text=True)
    assert default_choice(page, "remind_on_reentry") == ("Use the integration's setting (Fake Tests: No, "
                                                         "Other Tests: Yes)")


# --------------------------------------------------------------------------- no hired reason on thumbs down


def test_a_reason_for_hired_candidates_is_not_offered_for_a_thumbs_down_nor_taken(hub_app, seeded, as_role):
    client = as_role("admin")
    page = client.get("/pipeline/new?posting_id=p1").get_data(as_text=True)
    select = re.search(r'<select id="archive_reason_on_thumbs_down".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "reason-1", "reason-2"]
    answer = client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "s9", "assessment": "fakeassess:py",
                                                "archive_reason_on_thumbs_down": "reason-hired"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert field_error(html, "archive-error") == (
        "“Hired” is a reason for archiving a hired candidate, not a rejected one: choose another reason, "
        "or Do not archive.")
    with hub_app.app_context():
        assert db.session.scalar(sa.select(Attachment).where(Attachment.stage_id == "s9")) is None


def test_the_api_refuses_a_reason_for_hired_candidates_for_a_thumbs_down_too(hub_app, seeded):
    api = hub_app.test_client()
    answer = api.post("/api/v1/attachments", headers=api_headers(seeded, "admin"), json={
        "posting_id": "p1", "stage_id": "s9", "provider": "fakeassess", "assessment_id": "py",
        "options": {"archive_reason_on_thumbs_down": "reason-hired"}})
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["error"]["fields"]["options.archive_reason_on_thumbs_down"] == [
        "“Hired” is a reason for archiving a hired candidate, not a rejected one: choose another reason, "
        "or Do not archive."]
    fine = api.post("/api/v1/attachments", headers=api_headers(seeded, "admin"), json={
        "posting_id": "p1", "stage_id": "s9", "provider": "fakeassess", "assessment_id": "py",
        "options": {"archive_reason_on_thumbs_down": "reason-1"}})
    assert fine.status_code == 201, fine.get_json()


def test_an_attachment_saved_with_a_hired_reason_is_shown_invalid(hub_app, seeded, as_role):
    attachment_id = seeded.per_role["admin"]["att_keep"]
    with hub_app.app_context():
        row = db.session.get(Attachment, attachment_id)
        row.options = {"archive_reason_on_thumbs_down": "reason-hired"}
        db.session.commit()
    client = as_role("admin")
    answer = client.get(f"/pipeline/{attachment_id}/edit")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert '<option value="reason-hired" selected>Hired (a reason for hired candidates)</option>' in html
    assert field_error(html, "archive-error").startswith("“Hired” is a reason for archiving a hired candidate")
    assert 'id="error-summary"' in html
    listed = client.get("/pipeline").get_data(as_text=True)
    row = re.search(rf'<tr id="attachment-{attachment_id}"(.*?)</tr>', listed, re.S).group(1)
    assert f'id="hired-reason-{attachment_id}"' in row and "a rejected candidate would be archived as hired" in row
    # saving it unchanged is refused too: a rejected candidate is never archived as hired
    refused = client.post(f"/pipeline/{attachment_id}/edit", data={
        "posting_id": "p1", "stage_id": "s4", "assessment": "fakeassess:py",
        "archive_reason_on_thumbs_down": "reason-hired"})
    assert refused.status_code == 422
    assert field_error(refused.get_data(as_text=True), "archive-error").startswith("“Hired” is a reason")


# --------------------------------------------------------------------------- after attaching


def test_after_attaching_the_message_points_to_inviting_those_already_in_the_stage(hub_app, seeded, as_role, fakes):
    _, assess = fakes
    assess.assessments = [Assessment("py", "Python <b>Dev</b>", 60, 100.0)]  # shown as text, not markup
    page = as_role("admin").post("/pipeline/new", data={"posting_id": "p1", "stage_id": "s9",
                                                       "assessment": "fakeassess:py"},
                                 follow_redirects=True).get_data(as_text=True)
    with hub_app.app_context():
        attachment_id = db.session.scalar(sa.select(Attachment.id).where(Attachment.stage_id == "s9"))
    flashed = re.search(r'<div class="flashes" id="flashes">(.*?)</div>\s*</div>', page, re.S).group(1)
    assert ("Python &lt;b&gt;Dev&lt;/b&gt; attached to “Stage 9” of Python Developer. Candidates already in that "
            f'stage are not invited: to invite them, use <a href="/pipeline/{attachment_id}/backfill" '
            'id="attached-backfill-link">Invite candidates already in stage</a>.') in flashed


def test_without_backfill_the_message_says_only_new_entries_are_invited(make_app):
    app = make_app(plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    seed(app)
    client = app.test_client()
    sign_in(client, "admin@acme.test")
    page = client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "s9", "assessment": "fakeassess:py"},
                       follow_redirects=True).get_data(as_text=True)
    assert ("Python Developer attached to “Stage 9” of Python Developer. Candidates already in that stage are not "
            "invited: only those who enter it from now on are.") in page
    assert 'id="attached-backfill-link"' not in page


# --------------------------------------------------------------------------- the cancel dialog


def cancel_confirm(html: str) -> str:
    return unescape(re.search(r'id="cancel-button" data-confirm="([^"]*)"', html).group(1))


def test_the_cancel_dialog_names_the_provider_and_what_the_candidate_can_still_do(hub_app, seeded, as_role):
    open_id = seeded.per_role["admin"]["inv_cancel_ui"]
    with hub_app.app_context():
        name = db.session.get(Invitation, open_id).candidate_name
        waiting_id = _invitation(1, db.session.get(Attachment, seeded.ids["attachment"]), "pending").id
        db.session.commit()
    client = as_role("admin")
    assert cancel_confirm(client.get(f"/candidates/{open_id}").get_data(as_text=True)) == (
        "Cancel this invitation? Fake Tests is told, and withdraws it if it supports withdrawing invitations.")
    with hub_app.app_context():
        services.revoke(get_runtime(), 1, "fakeassess", "test")
    assert cancel_confirm(client.get(f"/candidates/{open_id}").get_data(as_text=True)) == (
        f"Cancel this invitation in the hub? Fake Tests is disconnected, so it will not be told: {name} can still "
        "open their link and take the test.")
    # not sent yet: no link to speak of
    assert cancel_confirm(client.get(f"/candidates/{waiting_id}").get_data(as_text=True)) == (
        "Cancel this invitation in the hub? Fake Tests is disconnected, so it will not be told.")
    done = unescape(client.post(f"/candidates/{open_id}/cancel", follow_redirects=True).get_data(as_text=True))
    assert (f"The invitation is cancelled in the hub; Fake Tests is disconnected, so it was not told: {name} can "
            "still open their link and take the test.") in done


# --------------------------------------------------------------------------- Replay of a disabled plugin


def replay_cell(html: str, delivery_id: int) -> str:
    row = re.search(rf'<tr id="delivery-{delivery_id}" data-status="[a-z]+">(.*?)</tr>', html, re.S).group(1)
    return re.search(r'<td class="actions">(.*?)</td>', row, re.S).group(1)


def test_replay_of_a_disabled_plugin_is_shown_disabled_with_the_reason(hub_app, seeded, as_role):
    delivery_id = seeded.per_role["admin"]["dlv_ui"]
    client = as_role("admin")
    enabled = replay_cell(client.get("/activity").get_data(as_text=True), delivery_id)
    assert f'action="/activity/deliveries/{delivery_id}/replay"' in enabled and "disabled" not in enabled
    with hub_app.app_context():
        services.set_enabled(get_runtime(), 1, "fakeassess", False, "test")
        engine = db.engine
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        html = client.get("/activity").get_data(as_text=True)
        reads = sum("FROM integrations" in s for s in statements)
        with hub_app.app_context():
            for _ in range(3):  # more deliveries of the disabled plugin on the page: no more reads
                _dead_delivery(1)
            db.session.commit()
        statements.clear()
        again = client.get("/activity").get_data(as_text=True)
        assert sum("FROM integrations" in s for s in statements) == reads
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert again.count("Enable Fake Tests to replay") == html.count("Enable Fake Tests to replay") + 3
    cell = replay_cell(html, delivery_id)
    assert "<form" not in cell
    button = re.search(rf'<button [^>]*id="replay-{delivery_id}"[^>]*>', cell).group(0)
    assert " disabled " in button and 'aria-disabled="true"' in button and 'type="button"' in button
    assert f'aria-describedby="replay-{delivery_id}-note"' in button
    assert f'<p class="small muted" id="replay-{delivery_id}-note">Enable Fake Tests to replay</p>' in cell
    # the server still refuses it (a page opened before the disable, the API)
    refused = client.post(f"/activity/deliveries/{delivery_id}/replay", follow_redirects=True)
    assert "Fake Tests is not enabled; enable it before replaying its deliveries." in refused.get_data(as_text=True)
    with hub_app.app_context():
        assert db.session.get(Delivery, delivery_id).status == "dead"
