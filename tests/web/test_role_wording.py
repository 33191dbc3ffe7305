"""What a page tells each role matches what that role can do: a Limited Team Member whose postings
cannot be read gets the same plain notice on a candidate's page as on the lists (503, not 404, and
no vendor error); whoever cannot connect an integration is told to ask a Super Admin; an Admin's
Pipeline does not tell them to do what only a Super Admin can."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Attachment, Invitation, TimelineEntry
from tests.web.support import vendor_error

RAW_ERROR = "Fake ATS answered 503 ServiceUnavailable to GET /postings: Injected fault (error)"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def _notice(html: str) -> str:
    return _text(re.search(r'id="visibility-notice">(.*?)</div>', html, re.S).group(1))


@pytest.mark.parametrize("how", ["down", "disabled"])
def test_a_limited_team_members_candidate_page_says_the_postings_cannot_be_read(hub_app, seeded, as_role, fakes,
                                                                                 how):
    source, _ = fakes
    client = as_role("limited_team_member")
    own = seeded.ids["invitation"]  # on p1, which she follows
    assert client.get(f"/candidates/{own}").status_code == 200
    assert client.get(f"/candidates/{seeded.ids['invitation_p2']}").status_code == 404  # not hers

    if how == "down":
        source.fail = vendor_error(RAW_ERROR)
    else:
        as_role("super_admin").post("/integrations/fakesource/disable")
    listed = client.get("/candidates").get_data(as_text=True)
    assert "Your candidates cannot be shown right now" in _notice(listed)
    for invitation in (own, seeded.ids["invitation_p2"], 99999999):  # whatever the id: nothing told
        page = client.get(f"/candidates/{invitation}")
        assert page.status_code == 503, (invitation, page.status_code)
        html = page.get_data(as_text=True)
        assert _notice(html) == _notice(listed)
        assert "No such invitation" not in html and "Ada Lovelace" not in html
        assert 'id="candidate-unavailable"' in html and 'href="/candidates"' in html
    hub_app.extensions["hub.polled_visibility"].clear()  # as when the minute of the last good read has passed
    fragment = client.get(f"/candidates/{own}?fragment=1")  # the page's own refresh keeps what it shows
    assert fragment.status_code == 503 and "cannot be shown right now" in fragment.get_data(as_text=True)
    # an admin sees every posting: nothing to read, nothing refused
    assert as_role("admin").get(f"/candidates/{own}").status_code == 200


def test_a_limited_team_member_gets_a_plain_sentence_not_the_vendors_error(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    source.fail = vendor_error(RAW_ERROR)
    client = as_role("limited_team_member")
    for path in ("/", "/candidates"):
        notice = _notice(client.get(path).get_data(as_text=True))
        assert notice == ("Your candidates cannot be shown right now: the hub could not read from Fake ATS which "
                          "postings you are on (you see the candidates of those postings only). Try again in a "
                          "few minutes; if it stays like this, tell an admin."), path
        assert "503" not in notice and "Injected fault" not in notice and "GET /postings" not in notice


def test_with_the_ats_disabled_a_limited_team_member_is_told_to_ask_a_super_admin(hub_app, seeded, as_role):
    as_role("super_admin").post("/integrations/fakesource/disable")
    client = as_role("limited_team_member")
    for path, id in (("/", "no-invitations"), ("/candidates", "no-candidates")):
        html = client.get(path).get_data(as_text=True)
        notice = _notice(html)
        assert "no ATS is enabled in the hub" in notice and "Ask a Super Admin to enable one." in notice
        empty = _text(re.search(rf'id="{id}"[^>]*>(.*?)</div>', html, re.S).group(1))
        assert "Fake ATS is disabled" in empty and "Ask a Super Admin to enable it." in empty, path
        assert "Ask an admin to" not in notice + empty and "a Super Admin enables and connects one" not in notice


@pytest.mark.parametrize("role", ["team_member", "limited_team_member"])
def test_whoever_cannot_connect_an_integration_is_told_to_ask_a_super_admin(hub_app, seeded, as_role, role):
    from hub import services
    from hub.runtime import get_runtime

    with hub_app.app_context():  # nothing invited yet, and the attached assessments' provider disabled
        db.session.execute(sa.delete(TimelineEntry))
        db.session.execute(sa.delete(Invitation))
        services.set_enabled(get_runtime(), seeded.workspace_id, "fakeassess", False, "test")
        db.session.commit()
    html = as_role(role).get("/candidates").get_data(as_text=True)
    empty = _text(re.search(r'id="no-candidates"[^>]*>(.*?)</div>', html, re.S).group(1))
    assert "Fake Tests is disabled" in empty and "Ask a Super Admin to enable it." in empty
    assert "Ask an admin" not in empty


@pytest.mark.parametrize("disabled, missing", [(("fakesource", "fakeassess"), "a source (your ATS) and an assessment provider"),
                                               (("fakesource",), "a source (your ATS)"),
                                               (("fakeassess",), "an assessment provider")])
def test_an_admins_empty_pipeline_says_a_super_admin_connects_the_integrations(hub_app, seeded, as_role, disabled,
                                                                                missing):
    owner = as_role("super_admin")
    for plugin in disabled:
        owner.post(f"/integrations/{plugin}/disable")
    with hub_app.app_context():
        db.session.execute(sa.update(Attachment).values(detached_at=sa.func.now()))
        db.session.commit()

    def empty(role):
        html = as_role(role).get("/pipeline").get_data(as_text=True)
        return re.search(r'id="no-attachments"[^>]*>(.*?)</div>', html, re.S).group(1)

    admin = empty("admin")
    assert _text(admin).strip().startswith(f"No assessment attached yet A Super Admin must first enable and connect {missing} "
                                   "in Integrations; then you can attach an assessment")
    assert "First enable and connect" not in admin and 'href="/integrations"' in admin  # Admins see the page
    assert f"First enable and connect {missing} in Integrations" in _text(empty("super_admin"))
    # the alerts above it, the dashboard and the attach page word it for the role alike
    dash = _text(as_role("admin").get("/").get_data(as_text=True))
    assert "Enable and connect your ATS" not in dash and "Connect it in Integrations" not in dash
    attach = _text(as_role("admin").get("/pipeline/new").get_data(as_text=True))
    assert "Enable and connect them in Integrations" not in attach
    assert "A Super Admin must enable and connect them in Integrations first." in attach
