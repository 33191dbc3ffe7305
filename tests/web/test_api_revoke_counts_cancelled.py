"""``POST /api/v1/integrations/<plugin>/revoke`` answers the page's words (docs/api.md: "The
`message` is what the page says after the same action"): revoking counts the pending deliveries it
cancelled, as the page and disabling do (diff-review)."""

from __future__ import annotations

from tests.web.test_candidate_deliveries import add_delivery


def test_the_api_s_revoke_says_how_many_pending_deliveries_it_cancelled(hub_app, seeded, api):
    add_delivery(hub_app, seeded, seeded.ids["invitation"], "assessment_completed", "on_assessment_completed",
                 "retry", plugin="fakesource")
    answer = api("POST", "/integrations/fakesource/revoke")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["message"] == "Access to Fake ATS is revoked, and its 1 pending delivery was cancelled."
