"""The OAuth callback's answers say that nothing changed and what to do (found by a walk of Lever's
OAuth: the back button to the callback said only "state mismatch"; a denial did not say that the
connection was left as it was)."""

from __future__ import annotations

from html import unescape


def test_an_answer_used_already_says_so_and_that_nothing_changed(as_role):
    client = as_role("super_admin")
    answer = client.get("/integrations/fakesource/oauth/callback?state=spent&code=abc")
    text = unescape(answer.get_data(as_text=True))
    assert answer.status_code == 400
    assert ("it was used already, or the connection was started in another browser or tab. Nothing was "
            "changed. Start again with “Connect” on the integration's page.") in text


def test_a_denied_access_says_nothing_changed_and_how_to_connect(as_role, fakes):
    client = as_role("super_admin")
    with client.session_transaction() as session:
        session["oauth_state:fakesource"] = "the-state"
    answer = client.get("/integrations/fakesource/oauth/callback?state=the-state&error=access_denied"
                        "&error_description=The+user+denied+access", follow_redirects=True)
    text = unescape(answer.get_data(as_text=True))
    assert ("Fake ATS did not grant access: The user denied access. Nothing was changed: to connect, start again "
            "and allow the access it asks for.") in text
    assert "oauth_complete" not in fakes[0].calls
