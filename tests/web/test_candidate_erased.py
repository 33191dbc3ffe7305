"""A candidate deleted in the ATS (the hub erased their name and email, ``erase_candidate``) is not
offered a re-invite, and one asked for is refused with a sentence (409 in the API), keeping the
score and verdict shown: re-inviting failed at once ("the candidate no longer exists in the ATS")
and replaced them by "—". The Candidates list labels their profile link sensibly (it read "Profile
of None")."""

from __future__ import annotations

import re

from hub.extensions import db
from hub.store.models import Invitation
from tests.web.support import api_headers

REFUSAL = "deleted in the ATS"


def erase(app, invitation_id: int) -> None:
    from hub.engine.ingest import erase_candidate

    with app.app_context():
        row = db.session.get(Invitation, invitation_id)
        erase_candidate(db.session, row.workspace_id, row.opportunity_id)
        db.session.commit()


def state(app, invitation_id: int) -> tuple:
    with app.app_context():
        row = db.session.get(Invitation, invitation_id)
        return row.status, row.round, row.score, row.verdict


def test_an_erased_candidate_is_not_offered_a_re_invite_and_the_page_says_why(hub_app, seeded, as_role):
    invitation = seeded.ids["invitation"]  # completed: re-invitable
    client = as_role("admin")
    before = client.get(f"/candidates/{invitation}").get_data(as_text=True)
    assert 'id="reinvite-button"' in before and 'id="profile-link"' in before
    erase(hub_app, invitation)
    page = client.get(f"/candidates/{invitation}").get_data(as_text=True)
    assert "Unknown candidate" in page
    assert 'id="reinvite-button"' not in page and 'id="reinvite-form"' not in page
    assert 'id="profile-link"' not in page  # the profile was deleted in the ATS: no link to it
    note = re.sub(r"\s+", " ", page.split('id="erased-note"', 1)[1].split("</p>", 1)[0])
    assert REFUSAL in note and "cannot be invited again" in note
    # those who cannot re-invite anyway are told what happened, not what they cannot do
    member = as_role("team_member").get(f"/candidates/{invitation}").get_data(as_text=True)
    assert REFUSAL in member.split('id="erased-note"', 1)[1].split("</p>", 1)[0]


def test_a_re_invite_of_an_erased_candidate_is_refused_and_changes_nothing(hub_app, seeded, as_role):
    invitation = seeded.ids["invitation"]
    erase(hub_app, invitation)
    before = state(hub_app, invitation)
    response = as_role("admin").post(f"/candidates/{invitation}/reinvite", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.request.path == f"/candidates/{invitation}"
    flashes = re.search(r'id="flashes">(.*?)</div>\s*</div>', html, re.S).group(1)
    assert "The invitation is being sent again." not in flashes
    assert 'alert--danger' in flashes and REFUSAL in flashes and "cannot be invited again" in flashes
    assert state(hub_app, invitation) == before  # the score and verdict stay shown

    api = hub_app.test_client().post(f"/api/v1/invitations/{invitation}/reinvite",
                                     headers=api_headers(seeded, "admin"))
    assert api.status_code == 409
    error = api.get_json()["error"]
    assert error["code"] == "conflict" and REFUSAL in error["message"] and "cannot be invited again" in error["message"]
    assert state(hub_app, invitation) == before


def test_an_erased_candidates_open_invitation_can_still_be_cancelled(hub_app, seeded, as_role):
    invitation = seeded.per_role["admin"]["inv_cancel_ui"]  # invited
    erase(hub_app, invitation)
    client = as_role("admin")
    assert 'id="cancel-button"' in client.get(f"/candidates/{invitation}").get_data(as_text=True)
    client.post(f"/candidates/{invitation}/cancel")
    assert state(hub_app, invitation)[0] == "cancelled"


def test_the_list_labels_an_erased_candidates_profile_link_sensibly(hub_app, seeded, as_role):
    invitation = seeded.ids["invitation"]
    erase(hub_app, invitation)
    html = as_role("admin").get("/candidates").get_data(as_text=True)
    row = re.search(rf'<tr id="invitation-{invitation}"(.*?)</tr>', html, re.S).group(1)
    label = re.search(r'class="profile-link">(.*?)</a>', row, re.S).group(1)
    text = re.sub(r"<[^>]+>", "", label)
    assert "None" not in text
    assert text == "Profile of an unknown candidate (opens in a new tab)"
    # a named candidate's keeps their name
    named = re.search(rf'<tr id="invitation-{seeded.ids["invitation_p2"]}"(.*?)</tr>', html, re.S).group(1)
    assert "Profile<span class=\"visually-hidden\"> of Grace Hopper (opens in a new tab)" in named


def test_the_service_itself_refuses_an_erased_candidate(hub_app, seeded):
    """The refusal was in the pages and the API only: a caller of the service (a plugin's test kit,
    a script) could still re-invite an erased candidate."""
    import pytest

    from hub import services
    from hub.errors import Conflict
    from hub.runtime import get_runtime

    invitation = seeded.ids["invitation"]
    erase(hub_app, invitation)
    before = state(hub_app, invitation)
    with hub_app.app_context(), pytest.raises(Conflict) as info:
        services.reinvite_invitation(get_runtime(), 1, invitation, "test")
    assert info.value.message == services.ERASED_REFUSAL
    assert state(hub_app, invitation) == before
