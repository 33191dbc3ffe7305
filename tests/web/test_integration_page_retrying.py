"""The integration page says when the plugin's work is retrying. A vendor that is down (503s,
timeouts) leaves the connection "Connected": the page said "The last test or use worked" and
nothing else while every call failed; only the Dashboard showed "1 delivery retrying" (found by a
walk making Canditech fail)."""

from __future__ import annotations

from tests.web.test_candidate_deliveries import LEVER_DOWN, add_delivery

DEFERRING = "deferred: waiting for the candidate's earlier result to be written"


def _retrying_state(page: str) -> str:
    assert 'id="retrying-state"' in page, "the page says nothing about the work retrying"
    return page.split('id="retrying-state"', 1)[1].split("</p>", 1)[0]


def test_the_page_counts_the_work_retrying_and_says_why(hub_app, seeded, as_role):
    invitation = seeded.ids["invitation"]
    for hook in ("on_invitation_status", "on_assessment_completed"):
        add_delivery(hub_app, seeded, invitation, hook.removeprefix("on_"), hook, "retry")
    add_delivery(hub_app, seeded, invitation, "verdict", "on_verdict", "retry", last_error=DEFERRING)  # on purpose
    add_delivery(hub_app, seeded, invitation, "stage_change", "on_stage_change", "dead", plugin="fakesource")

    page = as_role("admin").get("/integrations/fakesource").get_data(as_text=True)
    state = _retrying_state(page)
    assert "2 deliveries to Fake ATS" in state and "waiting to try again" in state
    assert LEVER_DOWN.removeprefix("TemporaryError: ") in state
    assert "/activity?plugin=fakesource&amp;status=retry" in state

    other = as_role("admin").get("/integrations/fakeassess").get_data(as_text=True)
    assert 'id="retrying-state"' not in other  # nothing of its own is retrying


def test_a_page_without_work_retrying_says_nothing_of_it(hub_app, seeded, as_role):
    page = as_role("super_admin").get("/integrations/fakesource").get_data(as_text=True)
    assert 'id="credentials-state"' in page and 'id="retrying-state"' not in page
