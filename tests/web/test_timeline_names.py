"""A candidate's timeline shows an archive reason and a stage by name (read from the source through
the hub's live reads), falls back to the id when the source does not know it or cannot be read
(never a 500), and shows no note id of the ATS as if it meant something.

Plugins name those ids in ``refs`` (``ctx.invitations.note(..., refs=...)``), whatever their
wording; entries written before refs existed carry the ids in the Lever plugin's words and are
still shown by name (``add_writeback_entries``)."""

from __future__ import annotations

import re

from hub.engine.invitations import add_timeline
from hub.extensions import db
from hub.store.models import Invitation
from tests.web.support import vendor_error


def timeline(html: str) -> str:
    return re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', html, re.S).group(1)


def add_writeback_entries(app, invitation_id: int, reason: str = "reason-1", stage: str = "s3") -> None:
    """What the Lever plugin noted after writing back to the ATS before refs existed (its words,
    with the ids in them, no refs): rows already in users' databases."""
    with app.app_context():
        row = db.session.get(Invitation, invitation_id)
        add_timeline(db.session, row, "note_written", "fakesource", "Fake ATS note 8f2c1e90-aa11-4b7e-9d7b-1c2d3e4f5a6b")
        add_timeline(db.session, row, "stage_moved", "fakesource", f"moved in Fake ATS to stage {stage} on thumbs up")
        add_timeline(db.session, row, "archived", "fakesource", f"archived in Fake ATS (reason {reason}) on thumbs down")
        db.session.commit()


def test_archive_reasons_and_stages_by_name_and_no_note_id(hub_app, seeded, as_role, fakes):
    inv = seeded.ids["invitation"]
    add_writeback_entries(hub_app, inv)
    for role in ("admin", "team_member", "limited_team_member"):
        html = as_role(role).get(f"/candidates/{inv}").get_data(as_text=True)
        shown = timeline(html)
        assert "archived in Fake ATS (reason: Not a fit) on thumbs down" in shown, role
        assert "reason-1" not in shown
        assert "moved in Fake ATS to stage “Stage 3” on thumbs up" in shown
        assert "note with the result written to Fake ATS" in shown
        assert "8f2c1e90" not in shown and "Fake ATS note" not in shown
    # the API keeps the entries as recorded (ids are data there)
    from tests.web.support import api_headers

    api = hub_app.test_client().get(f"/api/v1/invitations/{inv}", headers=api_headers(seeded, "admin")).get_json()
    assert any("(reason reason-1)" in entry["detail"] for entry in api["timeline"])


def test_an_unknown_id_or_an_unreachable_source_shows_the_id_never_a_500(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    inv = seeded.ids["invitation"]
    add_writeback_entries(hub_app, inv, reason="reason-gone", stage="s-gone")
    client = as_role("admin")
    shown = timeline(client.get(f"/candidates/{inv}").get_data(as_text=True))
    assert "(reason reason-gone)" in shown and "to stage s-gone on thumbs up" in shown
    add_writeback_entries(hub_app, inv)
    source.fail = vendor_error("Fake ATS is down")
    response = client.get(f"/candidates/{inv}")
    assert response.status_code == 200
    shown = timeline(response.get_data(as_text=True))
    assert "(reason reason-1)" in shown and "to stage s3 on thumbs up" in shown
    assert "note with the result written to Fake ATS" in shown  # needs no vendor call
    source.fail = RuntimeError("a bug in the plugin")
    assert client.get(f"/candidates/{inv}").status_code == 200


def test_with_the_source_disabled_the_ids_are_shown_without_calling_it(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    inv = seeded.ids["invitation"]
    add_writeback_entries(hub_app, inv)
    as_role("super_admin").post("/integrations/fakesource/disable")
    source.calls.clear()
    shown = timeline(as_role("admin").get(f"/candidates/{inv}").get_data(as_text=True))
    assert "(reason reason-1)" in shown and source.calls == []


def test_the_pages_own_refreshes_do_not_ask_the_source_each_time(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    inv = seeded.ids["invitation"]
    add_writeback_entries(hub_app, inv)
    client = as_role("admin")
    source.calls.clear()
    for _ in range(3):
        fragment = client.get(f"/candidates/{inv}?fragment=1").get_data(as_text=True)
        assert "(reason: Not a fit)" in fragment
    assert source.calls.count("source_list_archive_reasons") == 1
    assert source.calls.count("source_list_stages") == 1


# --------------------------------------------------------------------------- refs


def note_with_refs(app, invitation_id: int, plugin: str, kind: str, detail: str, refs=None) -> None:
    """A line noted through the plugins' own door, ``ctx.invitations.note``."""
    from hub.runtime import get_runtime

    with app.app_context():
        get_runtime().context(1, plugin).invitations.note(invitation_id, kind, detail, refs=refs)


def add_third_party_entries(app, invitation_id: int, stage: str = "s3", reason: str = "reason-1") -> None:
    """What another ATS plugin might write: its own words, no "to stage" or "(reason ...)"."""
    note_with_refs(app, invitation_id, "fakesource", "stage_moved", "Candidate advanced → {stage} (auto)",
                   {"stage": stage})
    note_with_refs(app, invitation_id, "fakesource", "archived", "Closed out; why: {archive_reason}.",
                   {"archive_reason": reason})
    note_with_refs(app, invitation_id, "fakesource", "note_written", "Summary posted on the profile",
                   {"ats_note": "note-77f0"})


def test_a_plugins_refs_are_shown_by_name_whatever_its_wording(hub_app, seeded, as_role, fakes):
    inv = seeded.ids["invitation"]
    add_third_party_entries(hub_app, inv)
    for role in ("admin", "limited_team_member"):
        shown = timeline(as_role(role).get(f"/candidates/{inv}").get_data(as_text=True))
        assert "Candidate advanced → Stage 3 (auto)" in shown, role
        assert "Closed out; why: Not a fit." in shown
        assert "Summary posted on the profile" in shown
        assert "note-77f0" not in shown and "{stage}" not in shown and "reason-1" not in shown


def test_a_page_reads_each_list_of_names_once_however_many_entries_use_it(hub_app, seeded, as_role, fakes):
    """The live reads are cached for the request (``hub.web.live``): three entries, one read each."""
    source, _ = fakes
    inv = seeded.ids["invitation"]
    for _ in range(3):
        add_third_party_entries(hub_app, inv)
    source.calls.clear()
    shown = timeline(as_role("admin").get(f"/candidates/{inv}").get_data(as_text=True))
    assert shown.count("Candidate advanced → Stage 3 (auto)") == 3
    assert source.calls.count("source_list_stages") == 1 and source.calls.count("source_list_archive_reasons") == 1


def test_a_ref_the_source_cannot_name_shows_its_id_never_a_500(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    inv = seeded.ids["invitation"]
    add_third_party_entries(hub_app, inv, stage="s-gone", reason="reason-gone")
    client = as_role("admin")
    shown = timeline(client.get(f"/candidates/{inv}").get_data(as_text=True))
    assert "Candidate advanced → s-gone (auto)" in shown and "why: reason-gone." in shown
    source.fail = vendor_error("Fake ATS is down")
    response = client.get(f"/candidates/{inv}")
    assert response.status_code == 200
    assert "why: reason-gone." in timeline(response.get_data(as_text=True))


def test_an_assessment_plugins_stage_ref_is_named_by_the_source(hub_app, seeded, as_role, fakes):
    """The ids are the source's whoever notes them: the names come from the connected source."""
    inv = seeded.ids["invitation"]
    note_with_refs(hub_app, inv, "fakeassess", "reminder_sent", "reminded while in {stage}", {"stage": "s2"})
    assert "reminded while in Stage 2" in timeline(as_role("admin").get(f"/candidates/{inv}").get_data(as_text=True))


def test_braces_are_shown_as_written_unless_they_are_a_given_refs_placeholder(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    inv = seeded.ids["invitation"]
    note_with_refs(hub_app, inv, "fakeassess", "cancel_skipped", 'vendor said {"error": "{stage} busy"}')
    note_with_refs(hub_app, inv, "fakesource", "stage_moved", "{x} {archive_reason} to {stage}", {"stage": "s4"})
    source.calls.clear()
    shown = timeline(as_role("admin").get(f"/candidates/{inv}").get_data(as_text=True))
    assert "vendor said {&#34;error&#34;: &#34;{stage} busy&#34;}" in shown
    assert "{x} {archive_reason} to Stage 4" in shown
    assert "source_list_archive_reasons" not in source.calls  # not used: not asked


def test_a_note_refs_needs_no_call_to_the_source(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    inv = seeded.ids["invitation"]
    note_with_refs(hub_app, inv, "fakesource", "note_written", "Summary posted", {"ats_note": "n-1"})
    source.calls.clear()
    shown = timeline(as_role("admin").get(f"/candidates/{inv}").get_data(as_text=True))
    assert "Summary posted" in shown and "n-1" not in shown
    assert not [call for call in source.calls if call.startswith("source_list_")]


def test_the_api_returns_refs_as_recorded_and_null_for_old_entries(hub_app, seeded, fakes):
    from tests.web.support import api_headers

    inv = seeded.ids["invitation"]
    add_writeback_entries(hub_app, inv)
    add_third_party_entries(hub_app, inv)
    api = hub_app.test_client().get(f"/api/v1/invitations/{inv}", headers=api_headers(seeded, "admin")).get_json()
    by_detail = {entry["detail"]: entry["refs"] for entry in api["timeline"]}
    assert by_detail["Candidate advanced → {stage} (auto)"] == {"stage": "s3"}
    assert by_detail["Summary posted on the profile"] == {"ats_note": "note-77f0"}
    assert by_detail["archived in Fake ATS (reason reason-1) on thumbs down"] is None
    assert all("refs" in entry for entry in api["timeline"])


def test_the_openapi_document_describes_refs(hub_app):
    document = hub_app.test_client().get("/api/v1/openapi.json").get_json()
    refs = document["components"]["schemas"]["Timeline"]["properties"]["refs"]
    assert refs["type"] == ["object", "null"] and refs["additionalProperties"] == {"type": "string"}
    assert all(key in refs["description"] for key in ("stage", "archive_reason", "ats_note"))
    detail = document["components"]["schemas"]["InvitationDetail"]["properties"]["timeline"]
    assert detail["items"] == {"$ref": "#/components/schemas/Timeline"}
