"""A field given twice in a JSON body (found walking the API as a customer's script).

A query parameter given twice is a 422 (``?per_page=2&per_page=3000``: which one was meant?), but a
body's field given twice was read as the last one, silently: ``{"active": false, "active": true}``
left the user active and answered 200. Such a body is the bug of a script that builds its JSON by
hand, and is refused as the query's repetition is, naming the field (dotted when nested)."""

from __future__ import annotations

from hub.web.api.common import REPEATED


def _send(api, method, path, text, role="super_admin"):
    return api(method, path, role=role, data=text, headers={"Content-Type": "application/json"})


def test_a_field_given_twice_is_refused_naming_it_and_nothing_changes(api, seeded):
    path = f"/users/{seeded.per_role['admin']['target_user']}"
    before = api("GET", path, role="admin").get_json()

    response = _send(api, "PATCH", path, '{"active": false, "active": true}', role="admin")

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"] == {"code": "validation_failed", "fields": {"active": [REPEATED]},
                                            "message": "field given more than once: active"}
    assert api("GET", path, role="admin").get_json() == before


def test_a_nested_or_settings_field_given_twice_is_refused_too(api, seeded):
    attachment = f"/attachments/{seeded.per_role['admin']['att_keep']}"
    nested = _send(api, "PUT", attachment, '{"options": {"pass_threshold": 50, "pass_threshold": 60}}', role="admin")
    assert nested.status_code == 422
    assert nested.get_json()["error"]["fields"] == {"options.pass_threshold": [REPEATED]}
    both = _send(api, "POST", "/deliveries/replay", '{"status": "dead", "limit": 5, "limit": 50, "status": "dead"}')
    assert both.get_json()["error"]["message"] == "fields given more than once: limit, status"
    settings = _send(api, "PUT", "/integrations/fakesource", '{"region": "us", "region": "eu"}')
    assert settings.status_code == 422 and settings.get_json()["error"]["fields"] == {"region": [REPEATED]}
    # the same name in two objects is no repetition
    assert _send(api, "PUT", attachment, '{"stage_id": "s1", "options": {"stage_id": 1}}',
                 role="admin").get_json()["error"]["fields"] == {"options.stage_id": ["Unknown field."]}
