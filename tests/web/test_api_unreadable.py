"""The API tells a Limited Team Member that the postings they are on cannot be read (the ATS down
or disabled) as the pages do: 503 with the same plain sentence, not an empty list with no notice
and not 404 for one of their own candidates."""

from __future__ import annotations

import pytest

from hub.web.permissions import unreadable_notice
from tests.web.support import api_headers, vendor_error

RAW_ERROR = "Fake ATS answered 503 ServiceUnavailable to GET /postings: Injected fault (error)"


def _get(app, seeded, path, role="limited_team_member"):
    return app.test_client().get(f"/api/v1{path}", headers=api_headers(seeded, role))


@pytest.mark.parametrize("how", ["down", "disabled"])
def test_a_limited_team_member_gets_503_with_the_pages_sentence(hub_app, seeded, as_role, fakes, how):
    source, _ = fakes
    own, other = seeded.ids["invitation"], seeded.ids["invitation_p2"]  # p1 she follows; p2 not
    listed = _get(hub_app, seeded, "/invitations")
    assert listed.status_code == 200 and own in {item["id"] for item in listed.get_json()["items"]}
    assert _get(hub_app, seeded, f"/invitations/{own}").status_code == 200
    assert _get(hub_app, seeded, f"/invitations/{other}").status_code == 404

    if how == "down":
        source.fail = vendor_error(RAW_ERROR)
    else:
        as_role("super_admin").post("/integrations/fakesource/disable")
    with hub_app.app_context():
        expected = unreadable_notice(seeded.workspace_id)
    assert ("no ATS is enabled" in expected) == (how == "disabled")
    for path in ("/invitations", "/invitations?status=completed&page=2", f"/invitations/{own}",
                 f"/invitations/{other}", "/invitations/99999999"):
        response = _get(hub_app, seeded, path)
        assert response.status_code == 503, (path, response.status_code)
        assert response.get_json() == {"error": {"code": "unavailable", "message": expected}}, path
        assert response.headers["Retry-After"] == "60" and response.headers["Cache-Control"] == "no-store"
        assert "Injected fault" not in response.get_data(as_text=True)
    # a query it cannot use is still named first (422), as when the postings can be read
    assert _get(hub_app, seeded, "/invitations?status=nonsense").status_code == 422
    # those who see every posting read nothing at the source: they are answered as before
    assert _get(hub_app, seeded, f"/invitations/{own}", role="team_member").status_code == 200
    assert _get(hub_app, seeded, "/invitations", role="admin").get_json()["total"] > 0


def test_the_openapi_document_names_the_503(hub_app):
    document = hub_app.test_client().get("/api/v1/openapi.json").get_json()
    for path in ("/invitations", "/invitations/{invitation_id}"):
        response = document["paths"][path]["get"]["responses"]["503"]
        assert "Limited Team Member" in response["description"]
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
