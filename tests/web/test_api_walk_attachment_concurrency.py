"""Two scripts changing the same attachment at once (found walking the API as a customer's script):
each ``PUT /api/v1/attachments/<id>`` merges the fields and options it sends onto the stored ones,
so two PUTs of different options must both be kept, whichever finishes first; and a PUT racing a
``DELETE`` must not answer 200 for an attachment detached meanwhile. The second request is made
while the first one reads the names from the vendors (``resolve_attachment``), between its read of
the row and its write."""

from __future__ import annotations

import threading

import pytest

from hub.extensions import db
from hub.web.api import pipeline as api_pipeline
from tests.web.support import api_headers


@pytest.fixture
def meanwhile(hub_app, seeded, monkeypatch):
    """``meanwhile(method, path, json)``: that request is made, from another thread and client
    (its own session), during the next request's resolution of the attachment at the vendors."""
    real = api_pipeline.resolve_attachment
    pending: list[tuple] = []
    answers: list = []

    def resolve(*args, **kwargs):
        resolved = real(*args, **kwargs)
        # A plugin's context ends the request's transaction before it calls its vendor
        # (``PluginContext.reload``: no transaction is held while the plugin works); the fakes do
        # not, so the transaction is ended here, as it is with a real vendor.
        db.session.commit()
        while pending:
            method, path, body = pending.pop(0)

            def other():
                answers.append(hub_app.test_client().open(f"/api/v1{path}", method=method, json=body,
                                                          headers=api_headers(seeded, "admin")))

            thread = threading.Thread(target=other)
            thread.start()
            thread.join(timeout=60)
            assert not thread.is_alive(), "the second request waited for the first one's lock"
        return resolved

    monkeypatch.setattr(api_pipeline, "resolve_attachment", resolve)

    def schedule(method, path, body=None):
        pending.append((method, path, body))
        return answers

    return schedule


def test_two_puts_of_different_options_both_stay(api, seeded, meanwhile):
    path = f"/attachments/{seeded.per_role['admin']['att_keep']}"
    start = api("PUT", path, role="admin", json={"options": {"pass_threshold": 50, "tag_results": True}})
    assert start.status_code == 200
    other = meanwhile("PUT", path, {"options": {"tag_results": False}})

    mine = api("PUT", path, role="admin", json={"options": {"pass_threshold": 80}})

    assert [r.status_code for r in other] == [200]
    assert other[0].get_json()["options"] == {"pass_threshold": 50.0, "tag_results": False}
    assert mine.status_code == 200
    assert mine.get_json()["options"] == {"pass_threshold": 80.0, "tag_results": False}
    assert api("GET", path, role="admin").get_json()["options"] == {"pass_threshold": 80.0, "tag_results": False}


def test_a_put_does_not_bring_back_a_field_another_put_changed(api, seeded, meanwhile):
    """The other request moved the attachment to another stage: a PUT of an option keeps that stage."""
    path = f"/attachments/{seeded.per_role['admin']['att_keep']}"
    other = meanwhile("PUT", path, {"stage_id": "s2"})

    mine = api("PUT", path, role="admin", json={"options": {"pass_threshold": 75}})

    assert [r.status_code for r in other] == [200]
    assert mine.status_code == 200
    assert (mine.get_json()["stage_id"], mine.get_json()["options"]["pass_threshold"]) == ("s2", 75.0)
    assert api("GET", path, role="admin").get_json()["stage_id"] == "s2"


def test_a_put_racing_a_delete_answers_404_and_saves_nothing(api, seeded, meanwhile):
    path = f"/attachments/{seeded.per_role['admin']['att_keep']}"
    other = meanwhile("DELETE", path)

    mine = api("PUT", path, role="admin", json={"options": {"pass_threshold": 75}})

    assert [r.status_code for r in other] == [204]
    assert mine.status_code == 404, mine.get_json()
    assert mine.get_json()["error"]["message"].endswith(
        "attach it again with POST /api/v1/attachments if candidates entering that stage should get it")
    entries = api("GET", "/audit?action=attachment.&per_page=2").get_json()["items"]
    assert entries[0]["action"] == "attachment.detach"  # no save recorded after the detach
