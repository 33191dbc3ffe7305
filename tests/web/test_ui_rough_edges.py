"""Rough edges of the pages: a page's path with an id that is not a number names it (as the API
does); a 404 under a list offers that list; a form without its CSRF token says what to do; a
candidate whose invitation failed for want of an email says where to add it, and the list shows
why an invitation failed; the dashboard does not say "nothing is connected yet" after a revoke."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from hub.extensions import db
from hub.kit.provider import NO_EMAIL_REASON
from hub.store.models import Attachment, Delivery, Event
from tests.web.support import PASSWORD, FakeAssess, FakeSource, _attachment, _invitation, make_user, seed, sign_in

GENERIC_404 = "The requested URL was not found on the server."  # Werkzeug's words, never shown
NO_PAGE = "There is no page at this address: check it, or use the menu to find what you were looking for."
CSRF_WORDS = ("This form has expired or did not come from this hub's pages. "
              "Reload the page and send it again.")


def _text(response) -> str:
    """The page's text as a reader sees it (tags removed, entities decoded, spaces collapsed)."""
    text = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html_lib.unescape(text).split())


def _error_message(response, status=404) -> str:
    assert response.status_code == status and response.mimetype == "text/html", response.get_data(as_text=True)[:300]
    match = re.search(r'<p id="error-message">(.*?)</p>', response.get_data(as_text=True), re.S)
    assert match, response.get_data(as_text=True)[:500]
    return html_lib.unescape(match.group(1)).strip()


# ---------------------------------------------------------------------- 1. ids that are not numbers

@pytest.mark.parametrize("method, path, message", [
    ("GET", "/candidates/abc", "'abc' is not a valid invitation id: ids are positive whole numbers."),
    ("GET", "/candidates/-1", "'-1' is not a valid invitation id: ids are positive whole numbers."),
    ("POST", "/candidates/1x/reinvite", "'1x' is not a valid invitation id: ids are positive whole numbers."),
    ("POST", "/candidates/abc/cancel", "'abc' is not a valid invitation id: ids are positive whole numbers."),
    ("GET", "/pipeline/seven/edit", "'seven' is not a valid attachment id: ids are positive whole numbers."),
    ("POST", "/pipeline/1.5/backfill", "'1.5' is not a valid attachment id: ids are positive whole numbers."),
    ("POST", "/users/me/role", "'me' is not a valid user id: ids are positive whole numbers."),
    ("POST", "/activity/deliveries/abc/replay", "'abc' is not a valid delivery id: ids are positive whole numbers."),
    ("POST", "/settings/api-tokens/abc/revoke", "'abc' is not a valid token id: ids are positive whole numbers."),
])
def test_a_page_path_with_an_id_that_is_not_a_number_names_it(as_role, method, path, message):
    response = as_role("super_admin").open(path, method=method)
    assert _error_message(response) == message
    assert GENERIC_404 not in response.get_data(as_text=True)


def test_every_page_route_with_an_integer_argument_names_it(hub_app, as_role):
    """Walks the app's routes (not the API's): a new page with an id is covered too."""
    client = as_role("super_admin")
    checked = 0
    for rule in hub_app.url_map.iter_rules():
        names = re.findall(r"<(?:int|id64):(\w+)>", rule.rule)
        if not names or rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<[^>]+>", "abc", rule.rule)
        noun = names[0].removesuffix("_id").replace("_", " ")
        method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        assert _error_message(client.open(path, method=method)) == \
            f"'abc' is not a valid {noun} id: ids are positive whole numbers.", rule.rule
        checked += 1
    assert checked >= 12  # candidates 3, pipeline 4, users 3, a delivery, a token


def test_an_id_that_is_a_number_reaches_the_view(as_role, seeded):
    client = as_role("team_member")
    assert _error_message(client.get("/candidates/abc")) == "'abc' is not a valid invitation id: ids are positive whole numbers."
    for path in ("/candidates/999999", f"/candidates/{seeded.other['invitation_id']}", "/candidates/" + "9" * 30):
        assert _error_message(client.get(path)) == "No such invitation.", path
    assert client.get(f"/candidates/{seeded.ids['invitation']}").status_code == 200


def test_the_bad_id_is_named_before_the_sign_in_and_in_json(hub_app, seeded):
    client = hub_app.test_client()  # signed out: routing comes first, as for the API
    assert _error_message(client.get("/candidates/abc")) == "'abc' is not a valid invitation id: ids are positive whole numbers."
    response = client.get("/users/abc/role", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.get_json() == {
        "error": {"code": "not_found", "message": "'abc' is not a valid user id: ids are positive whole numbers"}}


def test_odd_and_long_page_ids_are_quoted_cut_and_escaped(as_role):
    client = as_role("admin")
    assert _error_message(client.get("/candidates/%3Cb%3Ex")) == "'<b>x' is not a valid invitation id: ids are positive whole numbers."
    assert "<b>x" not in client.get("/candidates/%3Cb%3Ex").get_data(as_text=True)  # escaped, not markup
    assert _error_message(client.get("/candidates/" + "9" * 30 + "x" * 70)) == \
        f"'{'9' * 30 + 'x' * 10}…' is not a valid invitation id: ids are positive whole numbers."


def test_other_unknown_page_paths_say_there_is_no_page_there(as_role):
    client = as_role("super_admin")
    for path in ("/nope", "/candidates/abc/extra", "/candidates/abc/"):
        response = client.get(path)
        assert response.status_code == 404 and _error_message(response) == NO_PAGE and \
            "whole numbers" not in response.get_data(as_text=True) and GENERIC_404 not in response.get_data(as_text=True), path
    # the list link (2.) is there all the same
    assert 'id="error-back-to-list"' in client.get("/candidates/abc/extra").get_data(as_text=True)


# ---------------------------------------------------------------------- 2. back to the list

def _back_links(response) -> list[tuple[str, str]]:
    return [(href, html_lib.unescape(label)) for href, label in re.findall(
        r'<a class="btn [^"]*" href="([^"]+)"[^>]*>(Back to [^<]+)</a>', response.get_data(as_text=True))]


@pytest.mark.parametrize("method, path, back", [
    ("GET", "/candidates/abc", ("/candidates", "Back to Candidates")),
    ("GET", "/candidates/999999", ("/candidates", "Back to Candidates")),
    ("GET", "/activity/nope", ("/activity", "Back to Activity")),
    ("POST", "/activity/deliveries/abc/replay", ("/activity", "Back to Activity")),
    ("GET", "/pipeline/abc/edit", ("/pipeline", "Back to Pipeline")),
    ("POST", "/users/abc/role", ("/users", "Back to Users")),
    ("GET", "/integrations/nope", ("/integrations", "Back to Integrations")),
    ("POST", "/settings/api-tokens/abc/revoke", ("/settings/api-tokens", "Back to API tokens")),
])
def test_a_404_under_a_list_offers_that_list(as_role, method, path, back):
    response = as_role("super_admin").open(path, method=method)
    assert response.status_code == 404
    assert _back_links(response) == [back, ("/", "Back to the dashboard")]


def test_no_list_link_elsewhere_nor_for_a_list_the_role_cannot_open(as_role, hub_app):
    assert _back_links(as_role("super_admin").get("/nope")) == [("/", "Back to the dashboard")]
    assert _back_links(as_role("super_admin").get("/settings/nope")) == [("/", "Back to the dashboard")]
    # a Team Member has no Users page: a 404 under it offers only the dashboard; Candidates they have
    team_member = as_role("team_member")
    assert _back_links(team_member.post("/users/abc/role")) == [("/", "Back to the dashboard")]
    assert _back_links(team_member.get("/candidates/abc")) == [("/candidates", "Back to Candidates"),
                                                               ("/", "Back to the dashboard")]
    # signed out: no navigation, no list link
    assert _back_links(hub_app.test_client().get("/candidates/abc")) == [("/", "Back to the dashboard")]


# ---------------------------------------------------------------------- 3. CSRF

def test_a_form_without_its_csrf_token_says_what_to_do(make_app, fakes):
    source, assess = fakes
    app = make_app({"WTF_CSRF_ENABLED": True}, plugins=[("fakesource", source), ("fakeassess", assess)],
                   entry_points=False)
    seed(app)
    client = app.test_client()
    refused = client.post("/sign-in", data={"email": "admin@acme.test", "password": PASSWORD})
    assert _error_message(refused, 400) == CSRF_WORDS
    assert "CSRF" not in _text(refused)
    as_json = client.post("/sign-in", data={"email": "admin@acme.test", "password": PASSWORD},
                          headers={"Accept": "application/json"})
    assert as_json.status_code == 400 and as_json.get_json() == {"error": {"code": "csrf_failed",
                                                                           "message": CSRF_WORDS}}
    # a token that is not the session's: the same words
    bad = client.post("/sign-in", data={"email": "admin@acme.test", "password": PASSWORD, "csrf_token": "forged"})
    assert _error_message(bad, 400) == CSRF_WORDS


def test_a_form_whose_secure_session_cookie_could_not_come_back_over_http_says_so(make_app, fakes):
    """A production configuration tried over plain HTTP: the session cookie is secure, so the
    browser (or a script's client) never sent it back, and "Reload the page and send it again"
    could never help."""
    source, assess = fakes
    app = make_app({"WTF_CSRF_ENABLED": True, "SESSION_COOKIE_SECURE": True},
                   plugins=[("fakesource", source), ("fakeassess", assess)], entry_points=False)
    seed(app)
    form = {"email": "admin@acme.test", "password": PASSWORD, "csrf_token": "from-an-earlier-page"}
    over_http = app.test_client().post("/sign-in", data=form)
    message = _error_message(over_http, 400)
    assert message.startswith("This browser did not send the hub's session cookie back: the hub sets it for "
                              "HTTPS only (HUB_SESSION_COOKIE_SECURE) and this page came over plain HTTP.")
    assert "HUB_SESSION_COOKIE_SECURE=false" in message
    # over HTTPS the cookie would have come back: the usual words
    over_https = app.test_client().post("/sign-in", data=form, base_url="https://localhost")
    assert _error_message(over_https, 400) == CSRF_WORDS


# ---------------------------------------------------------------------- 4. a failed invitation

def _failed(hub_app, seeded, reason: str, provider_enabled: bool = True, source_enabled: bool = True) -> int:
    from hub import services
    from hub.runtime import get_runtime

    with hub_app.app_context():
        attachment = db.session.get(Attachment, seeded.ids["attachment"])
        invitation = _invitation(seeded.workspace_id, attachment, "failed", failure_reason=reason,
                                 name="Nomail Person", email="")
        for plugin, enabled in (("fakeassess", provider_enabled), ("fakesource", source_enabled)):
            if not enabled:
                services.set_enabled(get_runtime(), seeded.workspace_id, plugin, False, "test")
        db.session.commit()
        return invitation.id


def _next_step(response) -> str | None:
    match = re.search(r'<div class="small" id="failure-next-step">(.*?)</div>', response.get_data(as_text=True), re.S)
    return " ".join(html_lib.unescape(match.group(1)).split()) if match else None


def test_no_email_says_where_to_add_it_then_re_invite(hub_app, seeded, as_role):
    inv = _failed(hub_app, seeded, NO_EMAIL_REASON)
    admin = as_role("admin").get(f"/candidates/{inv}")
    assert _next_step(admin) == "Add the candidate's email address in Fake ATS, then press Re-invite."
    assert 'id="reinvite-button"' in admin.get_data(as_text=True)  # the button it names is there
    assert re.search(r'<dd id="failure-reason">' + re.escape(NO_EMAIL_REASON), admin.get_data(as_text=True))
    # a Team Member cannot re-invite: whom to ask
    assert _next_step(as_role("team_member").get(f"/candidates/{inv}")) == \
        "Add the candidate's email address in Fake ATS, then ask an Admin or a Super Admin to re-invite."
    # the fragment the page refreshes itself with says it too
    assert _next_step(as_role("admin").get(f"/candidates/{inv}?fragment=1")) == \
        "Add the candidate's email address in Fake ATS, then press Re-invite."


def test_no_email_next_step_follows_the_integrations(hub_app, seeded, as_role):
    inv = _failed(hub_app, seeded, NO_EMAIL_REASON, provider_enabled=False, source_enabled=False)
    page = as_role("super_admin").get(f"/candidates/{inv}")
    # no ATS enabled now: not a name the hub made up; the provider must be enabled before the button is back
    assert _next_step(page) == "Add the candidate's email address in the ATS, then re-invite once Fake Tests is enabled."
    assert 'id="reinvite-button"' not in page.get_data(as_text=True)


def test_another_failure_reason_gets_no_email_step(hub_app, seeded, as_role):
    inv = _failed(hub_app, seeded, "the vendor refused the assessment")
    page = as_role("admin").get(f"/candidates/{inv}")
    assert "the vendor refused the assessment" in page.get_data(as_text=True)
    assert _next_step(page) is None
    # while the no-email one has it (the same page template, so the check above can tell)
    assert _next_step(as_role("admin").get(f"/candidates/{_failed(hub_app, seeded, NO_EMAIL_REASON)}")) is not None


def test_the_list_shows_why_an_invitation_failed(hub_app, seeded, as_role):
    short = _failed(hub_app, seeded, NO_EMAIL_REASON)
    long_reason = "the vendor refused the invitation because " + "the assessment is archived and locked " * 5
    long = _failed(hub_app, seeded, long_reason.strip())
    html = as_role("team_member").get("/candidates?status=failed").get_data(as_text=True)
    lines = dict(re.findall(r'<div class="small muted failure-reason" id="failure-reason-(\d+)" title="([^"]*)">', html))
    shown = dict(re.findall(r'id="failure-reason-(\d+)" title="[^"]*">([^<]*)</div>', html))
    assert html_lib.unescape(lines[str(short)]) == NO_EMAIL_REASON and shown[str(short)] == NO_EMAIL_REASON
    assert html_lib.unescape(lines[str(long)]) == long_reason.strip()  # whole on hover
    cut = html_lib.unescape(shown[str(long)])
    assert cut.endswith("…") and len(cut) <= 81 and long_reason.startswith(cut[:-1])
    # only under a failed invitation's status
    assert f'id="failure-reason-{seeded.ids["invitation"]}"' not in as_role("admin").get("/candidates").get_data(
        as_text=True)


# ---------------------------------------------------------------------- 5. dashboard after a revoke

@pytest.fixture
def workspace(make_app):
    """A workspace with a Super Admin and a Team Member, both fake integrations enabled, nothing else."""
    from hub import services
    from hub.runtime import get_runtime

    app = make_app(plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    with app.app_context():
        for role in ("super_admin", "team_member"):
            make_user(1, f"{role}@acme.test", role)
        for plugin in ("fakesource", "fakeassess"):
            services.set_enabled(get_runtime(), 1, plugin, True, "test")
        db.session.commit()
    return app


def _revoke_all(app) -> None:
    from hub import services
    from hub.runtime import get_runtime

    with app.app_context():
        for plugin in ("fakesource", "fakeassess"):
            services.revoke(get_runtime(), 1, plugin, "test")


def _dashboard(app, role="super_admin") -> str:
    client = app.test_client()
    assert sign_in(client, f"{role}@acme.test").status_code == 302
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _card(html: str) -> str:
    match = re.search(r'<article class="card" id="attention-deliveries">(.*?)</article>', html, re.S)
    assert match
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def test_after_every_integration_was_revoked_the_dashboard_does_not_say_yet(workspace):
    with workspace.app_context():
        event = Event(workspace_id=1, source_plugin="fakesource", type="stage_change", external_id="evt-1",
                      subject="opp-1", payload={"opportunity_id": "opp-1", "to_stage_id": "s1"})
        db.session.add(event)
        db.session.flush()
        db.session.add(Delivery(event_id=event.id, workspace_id=1, plugin="fakeassess", hook="on_stage_change",
                                status="done", attempts=1))
        db.session.commit()
    _revoke_all(workspace)
    html = _dashboard(workspace)
    card = _card(html)
    assert "Nothing is connected yet" not in card and "nothing was delivered" not in card
    assert card.startswith("Dead deliveries 0 dead No integration is enabled now, so nothing new is delivered")
    assert 'id="nothing-connected-now"' in html and 'href="/activity"' in html
    assert "Enable and connect your ATS and an assessment provider in Integrations again." in card
    assert "Ask a Super Admin to enable the integrations again." not in card


def test_events_alone_from_before_also_mean_connected_once(workspace):
    with workspace.app_context():
        db.session.add(Event(workspace_id=1, source_plugin="fakesource", type="stage_change", external_id="evt-2",
                             subject="opp-2", payload={}))
        db.session.commit()
    _revoke_all(workspace)
    assert "No integration is enabled now, so nothing new is delivered" in _card(_dashboard(workspace))


def test_nothing_ever_delivered_still_says_yet(workspace):
    _revoke_all(workspace)  # revoked before anything arrived: "yet" is still true
    card = _card(_dashboard(workspace))
    assert "Nothing is connected yet, so nothing was delivered." in card and "connected now" not in card
    # another workspace's deliveries do not count
    with workspace.app_context():
        from hub.store.models import Workspace

        other = Workspace(name="Other company")
        db.session.add(other)
        db.session.flush()
        event = Event(workspace_id=other.id, source_plugin="fakesource", type="stage_change", external_id="evt-3",
                      subject="opp-3", payload={})
        db.session.add(event)
        db.session.flush()
        db.session.add(Delivery(event_id=event.id, workspace_id=other.id, plugin="fakeassess",
                                hook="on_stage_change", status="done", attempts=1))
        db.session.commit()
    assert "Nothing is connected yet, so nothing was delivered." in _card(_dashboard(workspace))
    # and once this workspace has one, it is "now"
    with workspace.app_context():
        _attachment(1)  # nothing depends on it: an attachment is not a delivery
        db.session.commit()
    assert "Nothing is connected yet" in _card(_dashboard(workspace))
    with workspace.app_context():
        db.session.add(Event(workspace_id=1, source_plugin="fakesource", type="stage_change", external_id="evt-4",
                             subject="opp-4", payload={}))
        db.session.commit()
    assert "No integration is enabled now" in _card(_dashboard(workspace))
