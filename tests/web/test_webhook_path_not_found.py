"""A webhook sent to a path under ``/webhooks/`` that is no webhook URL (a trailing slash pasted at
the ATS, a key left out, something after the key) is answered 404 in JSON saying how a webhook URL
is made: the sender's delivery log shows the answer, and the pages' "use the menu" meant nothing
there (from a Lever conformance walk)."""

from __future__ import annotations

import pytest

from hub.web.paths import NO_PAGE


@pytest.mark.parametrize("path", ["/webhooks/fakesource/{key}/", "/webhooks/fakesource", "/webhooks/fakesource/{key}/more",
                                  "/webhooks/"])
def test_a_webhook_to_no_webhook_url_is_told_how_one_is_made(hub_app, seeded, path):
    answer = hub_app.test_client().post(path.format(key="k" * 20), data=b"{}", content_type="application/json")
    assert answer.status_code == 404 and answer.is_json
    message = answer.get_json()["error"]["message"]
    assert message != NO_PAGE and "/webhooks/<plugin>/<key>" in message and "no trailing slash" in message


def test_other_paths_keep_the_pages_words(hub_app, seeded):
    answer = hub_app.test_client().get("/webhook/fakesource/abc")
    assert answer.status_code == 404 and NO_PAGE in answer.get_data(as_text=True)
