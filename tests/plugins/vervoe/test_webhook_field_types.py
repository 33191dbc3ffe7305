"""A Vervoe report whose ``status`` is not a string is refused (422 naming the field and what came),
as a ``candidateAssessmentUuid`` of another type is: it was taken for a report without a status,
re-read from Vervoe and answered 200, though Vervoe's report API documents ``status`` as a string."""

from __future__ import annotations

import json

from .test_webhooks import invited, signed


def test_a_status_that_is_no_string_is_a_422_naming_it(hub):
    inv, uuid = invited(hub)
    client = hub.app.test_client()
    path = hub.webhook_path()

    def post(document: dict) -> tuple[int, dict]:
        data = json.dumps(document).encode()
        answer = client.post(path, data=data, headers=signed(data))
        return answer.status_code, answer.get_json()

    for value, words in [(5, "a number"), (1.5, "a number"), (["complete"], "an array"),
                         ({"name": "complete"}, "an object"), (True, "a boolean")]:
        status, answer = post({"candidateAssessmentUuid": uuid, "status": value})
        assert (status, answer["error"]["code"]) == (422, "invalid_fields"), value
        assert answer["error"]["message"] == f"status must be a string, not {words}"
    # the same for a candidate assessment the hub does not know: the body is refused before it is looked up
    status, answer = post({"candidateAssessmentUuid": "not-the-hubs", "status": 3})
    assert (status, answer["error"]["message"]) == (422, "status must be a string, not a number")
    # no status, or null, is a thin report (re-read from Vervoe), as before
    for document in ({"candidateAssessmentUuid": uuid}, {"candidateAssessmentUuid": uuid, "status": None}):
        status, answer = post(document)
        assert status == 200, answer
    assert hub.invitation().status == inv.status == "invited"
