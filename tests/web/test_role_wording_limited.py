"""A Limited Team Member's Candidates page says it lists the invitations of their postings (not
"every invitation"), and an invitation they cannot open answers 404 with a hint that tells nothing
of whether it exists."""

from __future__ import annotations

import re


def _subtitle(html: str) -> str:
    return re.search(r'<h1>Candidates</h1>\s*<p class="muted">(.*?)</p>', html, re.S).group(1)


def _error(response) -> str:
    return re.search(r'<p id="error-message">(.*?)</p>', response.get_data(as_text=True), re.S).group(1)


def test_the_subtitle_fits_the_role(as_role):
    for role in ("super_admin", "admin", "team_member"):
        assert _subtitle(as_role(role).get("/candidates").get_data(as_text=True)).startswith("Every invitation:"), role
    limited = _subtitle(as_role("limited_team_member").get("/candidates").get_data(as_text=True))
    assert limited == ("The invitations of the postings you are on: who was invited to which assessment, where it "
                       "stands, the score and the verdict.")


def test_a_limited_team_members_404_hints_without_telling_whether_it_exists(as_role, seeded):
    client = as_role("limited_team_member")
    hint = "No such invitation: it does not exist, or it is on a posting you are not on."
    for invitation in (seeded.ids["invitation_p2"], 99999999, seeded.other["invitation_id"]):  # not hers, none, other ws
        answer = client.get(f"/candidates/{invitation}")
        assert answer.status_code == 404 and _error(answer) == hint, invitation
        assert "Grace Hopper" not in answer.get_data(as_text=True)
    assert client.get(f"/candidates/{seeded.ids['invitation']}").status_code == 200  # hers
    # every other role sees every posting: "no such invitation" is all there is to say
    answer = as_role("team_member").get("/candidates/99999999")
    assert answer.status_code == 404 and _error(answer) == "No such invitation."
