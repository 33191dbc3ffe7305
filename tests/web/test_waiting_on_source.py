"""When the ATS is down, the work that waits is the providers' (an invitation reads the candidate
from the ATS first): their deliveries retry, and only the provider's card and page said so, with
the ATS's own card and page showing nothing wrong. A failed read of the source now says which
source failed, the source's card and page count the work waiting on it, and the source's next
passed test wakes that work (found in a disconnect and outage walk)."""

from __future__ import annotations

import pytest

from hub.engine.runner import source_failed
from hub.errors import TemporaryError
from hub.extensions import db
from hub.store.models import Delivery, utcnow
from tests.web.test_candidate_deliveries import add_delivery

SOURCE_DOWN = f"TemporaryError: {source_failed('fakesource')}: Fake ATS answered 503 Service Unavailable"


def test_a_failed_read_of_the_source_names_the_source_and_keeps_its_retry_after(hub_app, seeded, fakes):
    from hub.runtime import get_runtime

    source, _ = fakes
    source.fail = TemporaryError("Fake ATS answered 503 Service Unavailable", retry_after=42)
    with hub_app.app_context():
        ctx = get_runtime().context(seeded.workspace_id, "fakeassess")
        with pytest.raises(TemporaryError) as raised:
            ctx.source.list_postings()
    assert str(raised.value) == f"{source_failed('fakesource')}: Fake ATS answered 503 Service Unavailable"
    assert raised.value.retry_after == 42


def _between(page: str, marker: str) -> str:
    assert marker in page, f"{marker} is not on the page"
    return page.split(marker, 1)[1].split("</dd>" if "waiting-on-fakesource" in marker else "</p>", 1)[0]


def test_the_source_page_and_card_count_the_work_waiting_on_it(hub_app, seeded, as_role):
    invitation = seeded.ids["invitation"]
    for hook in ("on_stage_change", "on_invitation_status"):
        add_delivery(hub_app, seeded, invitation, hook.removeprefix("on_"), hook, "retry",
                     plugin="fakeassess", last_error=SOURCE_DOWN)
    add_delivery(hub_app, seeded, invitation, "verdict", "on_verdict", "retry", plugin="fakeassess",
                 last_error="TemporaryError: Fake assessments answered 500")  # the provider's own failure

    admin = as_role("admin")
    source_page = admin.get("/integrations/fakesource").get_data(as_text=True)
    waiting = _between(source_page, 'id="waiting-on-source"')
    assert "2 deliveries to other integrations wait to read from Fake ATS again" in waiting
    assert "the latest read failed with: Fake ATS answered 503 Service Unavailable." in waiting
    assert "/activity?status=retry" in waiting

    card = _between(admin.get("/").get_data(as_text=True), 'id="waiting-on-fakesource"')
    assert "2 deliveries to other integrations wait to read from Fake ATS again" in card
    assert "Fake ATS answered 503" in card

    provider_page = admin.get("/integrations/fakeassess").get_data(as_text=True)
    assert 'id="waiting-on-source"' not in provider_page  # a provider is read by no one


def test_nothing_waiting_shows_nothing(hub_app, seeded, as_role):
    admin = as_role("admin")
    assert 'id="waiting-on-source"' not in admin.get("/integrations/fakesource").get_data(as_text=True)
    assert 'id="waiting-on-fakesource"' not in admin.get("/").get_data(as_text=True)


def test_a_passed_test_of_the_source_wakes_the_work_waiting_on_it(hub_app, seeded, api):
    waiting = add_delivery(hub_app, seeded, seeded.ids["invitation"], "stage_change", "on_stage_change", "retry",
                           plugin="fakeassess", due_in=3600, last_error=SOURCE_DOWN)
    answer = api("POST", "/integrations/fakesource/test", role="admin")
    assert answer.status_code == 200, answer.get_json()
    with hub_app.app_context():
        due = db.session.get(Delivery, waiting).next_attempt_at
        assert (due - utcnow()).total_seconds() <= 1


def test_the_work_waiting_for_the_source_s_reconnection_is_counted_on_it_too(hub_app, seeded, as_role):
    """A provider's read the source refused for its credentials waits for the source's reconnection
    (``SourceNeedsReconnecting``): the source's card and page count it, as the plugin guide says."""
    from hub.engine.runner import source_needs_reauthorization

    add_delivery(hub_app, seeded, seeded.ids["invitation"], "stage_change", "on_stage_change", "retry",
                 plugin="fakeassess",
                 last_error=f"TemporaryError: {source_needs_reauthorization('fakesource')}: Fake ATS refused the token")
    admin = as_role("admin")
    waiting = _between(admin.get("/integrations/fakesource").get_data(as_text=True), 'id="waiting-on-source"')
    assert "1 delivery to other integrations waits to read from Fake ATS again" in waiting
    assert "the latest read failed with: Fake ATS refused the token." in waiting
    card = _between(admin.get("/").get_data(as_text=True), 'id="waiting-on-fakesource"')
    assert "1 delivery to other integrations waits to read from Fake ATS again" in card
