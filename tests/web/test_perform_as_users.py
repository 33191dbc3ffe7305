"""Lever's "Write as Lever user" was a free-text user id, which an admin had to find in Lever by
hand (a UX walk-through). A settings field of a source plugin marked
``metadata={"suggest": "source_users"}`` is now offered the ATS's users to pick from (the plugin's
own ``source_list_users``, read live), and the page names the user it holds; an id can still be
typed. Against the Lever sandbox over real HTTP."""

from __future__ import annotations

import re
from html import unescape

from plugins.lever.sandbox import SEED
from tests.web import test_integration_next_step as next_step

GOOD_KEY = next_step.GOOD_KEY
lever_sandbox, lever = next_step.lever_sandbox, next_step.lever  # the fixtures, shared


def _field(html: str) -> str:
    return re.search(r'<div class="field[^"]*" id="field-perform_as">(.*?)\n    </div>', html, re.S).group(1)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_lever_s_users_are_offered_and_the_chosen_one_is_named(lever):
    app, client, form = lever
    before = _field(client.get("/integrations/lever").get_data(as_text=True))
    assert "<datalist" not in before  # no credentials yet: nothing to read the users with
    assert client.post("/integrations/lever/settings", data={**form, "api_key": GOOD_KEY}).status_code == 302
    field = _field(client.get("/integrations/lever").get_data(as_text=True))
    assert 'list="setting-perform_as-suggestions"' in field
    offered = re.findall(r'<option value="([^"]+)">([^<]+)</option>', field)
    assert ("user-admin", "Ada Admin &lt;ada.admin@example.com&gt;") in offered
    assert {value for value, _ in offered} == set(SEED["users"].values())
    assert "Pick one of the 4 users listed as you type" in _text(field) and "now:" not in _text(field)
    saved = client.post("/integrations/lever/settings", data={**form, "api_key": "", "perform_as": "user-admin"},
                        follow_redirects=True).get_data(as_text=True)
    assert "Lever settings saved." in saved
    assert re.search(r'id="setting-perform_as-chosen">Ada Admin &lt;ada.admin@example.com&gt;<', _field(saved))


def test_users_that_cannot_be_read_leave_the_field_as_text_with_a_note(lever):
    app, client, form = lever
    assert client.post("/integrations/lever/settings", data={**form, "api_key": "wrong-key"}).status_code == 302
    answer = client.get("/integrations/lever")
    field = _field(answer.get_data(as_text=True))
    assert answer.status_code == 200 and "<datalist" not in field
    assert re.search(r"The list of users could not be read \(Lever.*\); the id can still be typed\.", _text(field))


def test_only_someone_who_may_change_the_settings_is_offered_the_users(lever):
    """An Admin sees the settings read-only: no vendor read is made for a list they cannot use."""
    from hub.extensions import db
    from tests.web.support import make_user, sign_in

    app, client, form = lever
    assert client.post("/integrations/lever/settings", data={**form, "api_key": GOOD_KEY}).status_code == 302
    with app.app_context():
        make_user(1, "admin@next-step.test", "admin")
        db.session.commit()
    admin = app.test_client()
    assert sign_in(admin, "admin@next-step.test").status_code == 302
    field = _field(admin.get("/integrations/lever").get_data(as_text=True))
    assert "<datalist" not in field and "could not be read" not in field
