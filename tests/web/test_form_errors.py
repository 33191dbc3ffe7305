"""A form's field errors read as sentences that say what to do (found walking the UI: the Users
form showed "not a valid email address" and "a user with the email ... already exists" as they
came from the validators, in lower case and without a next step)."""

from __future__ import annotations

import re


def field_error(html: str, field_id: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field_id}-error">(.*?)</p>', html, re.S)
    assert match, f"no error under {field_id}"
    return match.group(1)


def create_user(client, email: str):
    return client.post("/users", data={"email": email, "name": "", "role": "team_member"})


def test_an_invalid_email_is_a_sentence_under_the_field(as_role):
    answer = create_user(as_role("admin"), "not-an-email")
    assert answer.status_code == 422
    assert field_error(answer.get_data(as_text=True), "new-email") == "Enter an email address, e.g. name@example.com."


def test_a_taken_email_says_where_that_user_is(as_role, seeded):
    answer = create_user(as_role("admin"), seeded.email("team_member"))
    assert answer.status_code == 422
    message = field_error(answer.get_data(as_text=True), "new-email")
    assert message == (f"A user with the email {seeded.email('team_member')} already exists: find them in the "
                       "list above (their role can be changed there), or use another email.")


def test_a_taken_email_of_another_workspace_is_not_said_to_be_in_the_list(as_role, seeded):
    """Emails are unique across workspaces (found by review): "find them in the list above" was
    wrong for a user of another workspace."""
    answer = create_user(as_role("admin"), "Someone@Other.test")
    assert answer.status_code == 422
    message = field_error(answer.get_data(as_text=True), "new-email")
    assert message == "A user with the email someone@other.test already exists: use another email."


def test_a_forbidden_page_says_why_in_a_sentence_and_whom_to_ask(as_role):
    member = as_role("team_member").get("/integrations")
    assert member.status_code == 403
    html = member.get_data(as_text=True)
    assert '<p id="error-message">Your role does not allow this.</p>' in html
    assert ("You are signed in as Team Member. If you need this, ask an Admin or a Super Admin of your hub."
            in html)
    admin = as_role("admin").get("/settings/api-tokens").get_data(as_text=True)
    assert "You are signed in as Admin. If you need this, ask a Super Admin of your hub." in admin


def test_a_plugins_validator_message_is_a_sentence_under_its_setting(as_role, monkeypatch):
    """Plugins' validators speak in fragments (Canditech's "not a header name", Lever's "must be an
    http(s) URL without query or fragment"): the settings form shows each as a sentence."""
    from marshmallow import validate

    from tests.web.support import FakeSourceSettings

    account = FakeSourceSettings._declared_fields["account"]
    monkeypatch.setattr(account, "validators", [validate.Regexp(r"^[a-z]+$", error="only lower-case letters")])
    answer = as_role("super_admin").post("/integrations/fakesource/settings", data={
        "account": "Acme 1", "region": "eu", "base_url": "https://api.fake-ats.example", "max_rate": "7"})
    assert answer.status_code == 422
    assert field_error(answer.get_data(as_text=True), "setting-account") == "Only lower-case letters."


def test_an_email_with_an_invisible_character_is_refused_not_created(as_role, hub_app):
    """A zero-width space or a right-to-left override in an email was accepted: a second account
    that looks like the first on every page."""
    import sqlalchemy as sa

    from hub.extensions import db
    from hub.store.models import User

    for email, code in (("zw\u200bsp@example.com", "U+200B"), ("rtl\u202eevil@example.com", "U+202E"),
                        ("ctl\x01x@example.com", "U+0001")):
        answer = create_user(as_role("admin"), email)
        assert answer.status_code == 422
        assert field_error(answer.get_data(as_text=True), "new-email") == (
            f"Not a valid email address: it holds an invisible or control character ({code}).")
        with hub_app.app_context():
            assert db.session.scalar(sa.select(User.id).where(User.email == email.lower())) is None


def test_an_email_with_characters_only_a_quoted_address_may_hold_is_refused(as_role):
    """``<script>@example.com`` was created as a user: no mailbox anyone can receive at."""
    for email in ("<script>@example.com", "a,b@example.com", "who@exa(mple).com", 'x"y@example.com'):
        answer = create_user(as_role("admin"), email)
        assert answer.status_code == 422, email
        assert field_error(answer.get_data(as_text=True), "new-email") == "Enter an email address, e.g. name@example.com."
    assert create_user(as_role("admin"), "o'brien+hub@example.ie").status_code == 303  # apostrophes and plus are fine
