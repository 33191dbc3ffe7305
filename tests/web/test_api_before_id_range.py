"""``before_id`` may be any id a row of the hub may have (up to 2**63 - 1), but invitations' ids are
32-bit columns: PostgreSQL refused to compare one with a larger number ("integer out of range"), a
500 that the schemathesis run over the API found. Every row is below such an id, so the whole list
is answered."""

from __future__ import annotations

import pytest

from hub.extensions import db
from tests.web.support import _attachment, _invitation


@pytest.mark.parametrize("path", ["/invitations", "/activity", "/audit", "/integrations/fakesource/webhooks"])
@pytest.mark.parametrize("before", [2**31, 2**63 - 1])
def test_a_before_id_beyond_the_column_answers_every_row(hub_app, seeded, api, path, before):
    with hub_app.app_context():
        attachment = _attachment(seeded.workspace_id, "p1", "s-range")
        _invitation(seeded.workspace_id, attachment, "invited", name="Range Walker")
        db.session.commit()
    everything = api("GET", path, query_string={"per_page": 100})
    answer = api("GET", path, query_string={"per_page": 100, "before_id": before})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["items"] == everything.get_json()["items"]
    if path == "/invitations":
        assert any(item["candidate_name"] == "Range Walker" for item in answer.get_json()["items"])
