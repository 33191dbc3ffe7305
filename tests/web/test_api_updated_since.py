"""``GET /api/v1/invitations?updated_since=``: a sync script's "what changed since I last read".
Invitations changed at or after the moment are listed, others not; a change made through the API
moves an invitation into the window; the moment must carry its time zone, may be sent with its
``+`` unencoded (as the API writes ``updated_at``), and a malformed or out-of-range one is a 422
that says what to send."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Invitation
from tests.web.support import api_error

LONG_AGO = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _age_every_invitation(app) -> None:
    with app.app_context():
        db.session.execute(sa.update(Invitation).values(updated_at=LONG_AGO))
        db.session.commit()


def _listed(api, since: str) -> set[int]:
    response = api("GET", f"/invitations?per_page=200&updated_since={since}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["id"] for item in response.get_json()["items"]}


def test_only_invitations_changed_since_the_moment_are_listed(hub_app, seeded, api):
    _age_every_invitation(hub_app)
    changed = seeded.ids["invitation_p2"]
    with hub_app.app_context():
        db.session.execute(sa.update(Invitation).where(Invitation.id == changed).values(
            updated_at=datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)))
        db.session.commit()
    assert _listed(api, "2026-06-01T12:00:00Z") == {changed}  # at the moment itself: included
    assert _listed(api, quote("2026-06-01T14:00:00+02:00")) == {changed}  # the same moment, another zone
    assert _listed(api, "2026-06-01T12:00:01Z") == set()
    assert _listed(api, "2026-06-01t12:00:00z") == {changed}  # RFC 3339's lowercase t and z
    everything = api("GET", "/invitations?per_page=200").get_json()["total"]
    assert len(_listed(api, "2025-12-31T00:00:00Z")) == everything > 1


def test_a_change_through_the_api_enters_the_window(hub_app, seeded, api):
    _age_every_invitation(hub_app)
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    assert _listed(api, quote(since.isoformat())) == set()
    cancelled = seeded.per_role["super_admin"]["inv_cancel_api"]
    answer = api("POST", f"/invitations/{cancelled}/cancel")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert _listed(api, quote(since.isoformat())) == {cancelled}
    # the updated_at the API wrote, sent back with its + unencoded (a space once decoded)
    updated_at = answer.get_json()["updated_at"]
    assert "+00:00" in updated_at
    assert _listed(api, updated_at) == {cancelled}


def test_a_moment_without_a_time_zone_or_out_of_range_is_refused_with_what_to_send(api):
    error = api_error(api("GET", "/invitations?updated_since=2026-12-01T09:00:00"), 422)
    assert error["fields"] == {"updated_since": [
        "Give the time zone too: 2026-12-01T09:00:00Z for UTC, or an offset such as +01:00."]}
    error = api_error(api("GET", "/invitations?updated_since=yesterday"), 422)
    assert "give ISO 8601 with a time zone" in error["fields"]["updated_since"][0]
    error = api_error(api("GET", "/invitations?updated_since=" + quote("9999-12-31T23:00:00-14:00")), 422)
    assert error["fields"] == {"updated_since": ["Out of range: give a moment between the years 1 and 9999 (UTC)."]}
    api_error(api("GET", "/invitations?updated_since=2026-12-01T09:00:00Z&updated_since=2026-12-02T09:00:00Z"), 422)
