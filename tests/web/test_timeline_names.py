"""A candidate's timeline shows an archive reason and a stage by name (read from the source through
the hub's live reads), falls back to the id when the source does not know it or cannot be read
(never a 500), and shows no note id of the ATS as if it meant something."""

from __future__ import annotations

import re

from hub.engine.invitations import add_timeline
from hub.extensions import db
from hub.store.models import Invitation
from tests.web.support import vendor_error


def timeline(html: str) -> str:
    return re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', html, re.S).group(1)


def add_writeback_entries(app, invitation_id: int, reason: str = "reason-1", stage: str = "s3") -> None:
    """What a source plugin notes after writing back to the ATS (the Lever plugin's words)."""
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
