"""Secrets over a full scenario, in both topologies: encrypted at rest (the raw database holds no
credential in clear) and never in a log of any of the hub's processes, an admin page, an API
answer or an error page.

The scenario: every plugin connected as ``hub demo`` connects it (Lever by API key, Canditech,
Vervoe); a Super Admin signs in with a password, reconnects Lever with OAuth (its access token then
expires at Lever, so the story refreshes it and Lever rotates the refresh token) and creates an API
token on its page, which creates a user with a generated password; the story through Canditech,
and a second candidate through Vervoe (its token, and its signed report webhook). Then Canditech's
secrets become unreadable (sealed under a key ``HUB_ENCRYPTION_KEYS`` lacks: a key dropped before
``hub keys rotate``), so saving a new API key fails, on the page and in the API, and a webhook to
its URL too, each with a 503 that says what is wrong (the process's keys, not a vendor): their
answers and the lines they log hold none of it either.
"""

from __future__ import annotations

import re
import shlex
import uuid

import pytest
import requests
import sqlalchemy as sa
from cryptography.fernet import Fernet

from hub import services
from hub.extensions import db
from hub.store.models import Integration, Invitation
from plugins.lever.sandbox.seed import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.e2e.harness import all_settled, eventually, start_stack
from tests.e2e.secret_scan import (database_texts, hub_keys, integration_secrets, leaks, log_texts,
                                   webhook_keys)
from tests.e2e.test_story import EXPECTED, PROVIDERS, api, run_story
from tests.e2e.topologies import TOPOLOGIES

ADMIN_EMAIL, ADMIN_PASSWORD = "secrets-admin@example.com", "the admin's long password 7"
SECOND = "opp-bob"  # the candidate who goes through Vervoe
LEVER_OAUTH = {"HUB_LEVER_CLIENT_ID": DEFAULT_CLIENT_ID, "HUB_LEVER_CLIENT_SECRET": DEFAULT_CLIENT_SECRET}
# the logs of each topology's hub processes (start_stack's, plus gunicorn's access log asked for here)
EXPECTED_LOGS = {"embedded": ["hub.log"],
                 "production": ["gunicorn-access.log", "gunicorn.log", "worker0.log", "worker1.log"]}
FIRST_RUN = re.compile(r"^First run: created Super Admin \S+ with password (\S+)$", re.MULTILINE)
# where the webhook URL is shown by design: an admin copies it into the vendor's settings
SHOWS_WEBHOOK_URLS = ("/integrations/", "/api/v1/integrations")


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _sign_in(stack, email: str, password: str) -> tuple[requests.Session, str]:
    """A session signed in through the sign-in form, and its CSRF token for the forms."""
    browser = requests.Session()
    form = browser.get(stack.hub_url + "/sign-in", timeout=10).text
    page = browser.post(stack.hub_url + "/sign-in", timeout=10,
                        data={"email": email, "password": password, "csrf_token": _csrf(form)})
    assert page.status_code == 200 and "Sign out" in page.text, page.text[-1000:]
    return browser, _csrf(page.text)


def _connect_lever_with_oauth(stack, browser, csrf: str) -> None:
    """"Connect with Lever" on the integration's page: the hub's redirect to Lever's consent (which
    the sandbox approves at once), Lever's back to the hub with a code, exchanged for tokens."""
    api(stack.url("lever") + "/_sandbox/settings", "POST", json={"oauth_auto_approve": True})
    page = browser.post(stack.hub_url + "/integrations/lever/oauth/start", data={"csrf_token": csrf}, timeout=30)
    assert page.status_code == 200 and "connected with OAuth" in page.text, page.text[-2000:]


def _api_token(stack, browser, csrf: str) -> str:
    """A token created on the API tokens page, as shown once by the page the form leads to."""
    page = browser.post(stack.hub_url + "/settings/api-tokens", data={"csrf_token": csrf, "name": "secrets e2e"},
                        timeout=10)
    return re.search(r'id="new-token" value="([^"]+)"', page.text).group(1)


def _hub_recorded(stack, opportunity: str) -> bool:
    with stack.app.app_context():
        sent = db.session.scalar(sa.select(sa.func.count(Invitation.id)).where(
            Invitation.opportunity_id == opportunity, Invitation.provider_invitation_id.is_not(None)))
        db.session.rollback()
    return sent > 0


def _through_vervoe(stack) -> None:
    """A second candidate into Vervoe's stage: invited, completed, its result noted in Lever."""
    vervoe = PROVIDERS["vervoe"]
    api(f"{stack.url('lever')}/_sandbox/opportunities/{SECOND}/move", "POST", json={"stage_id": vervoe.stage})
    invitation = eventually(lambda: next(iter(vervoe.invitations(stack)), None), 90, "the invitation at Vervoe")
    eventually(lambda: _hub_recorded(stack, SECOND), 60, "the hub to record Vervoe's invitation")
    vervoe.complete(stack, invitation["id"])
    notes = f"{stack.url('lever')}/_sandbox/opportunities/{SECOND}/notes"
    eventually(lambda: any(vervoe.report_path in field["value"] for note in api(notes)["data"]
                           for field in note["fields"]), 90, "Vervoe's result note in Lever")
    eventually(lambda: all_settled(stack.app), 60, "every delivery to finish")


def _pages(stack, browser, token: str) -> dict[str, str]:
    """Every admin page and API answer that shows what the scenario left, by path: the lists and
    each integration, Activity (each event's deliveries and payload), each candidate (a delivery's
    details, its timeline), Audit, users and tokens; the health endpoints; a webhook URL's
    answer to a GET."""
    with stack.app.app_context():
        invitations = list(db.session.scalars(sa.select(Invitation.id)))
        db.session.rollback()
    plugins = ("lever", "canditech", "vervoe")
    ui = ["/", "/integrations", *(f"/integrations/{p}" for p in plugins), "/activity", "/candidates",
          *(f"/candidates/{i}" for i in invitations), "/audit", "/users", "/settings/api-tokens", "/pipeline"]
    json_api = ["/me", "/integrations", *(f"/integrations/{p}" for p in plugins), "/activity?per_page=200",
                "/invitations", *(f"/invitations/{i}" for i in invitations), "/audit?per_page=200", "/users",
                "/attachments"]
    pages = {}
    for path in ui:
        pages[path] = browser.get(stack.hub_url + path, timeout=10)
    for path in json_api:
        pages["/api/v1" + path] = requests.get(stack.hub_url + "/api/v1" + path, timeout=10,
                                               headers={"Authorization": f"Bearer {token}"})
    for path in ("/healthz", "/readyz", "/metrics", "/webhooks/lever/x"):
        pages[path] = requests.get(stack.hub_url + path, timeout=10)
    wrong = {path: answer.status_code for path, answer in pages.items() if answer.status_code != 200}
    assert wrong == {"/webhooks/lever/x": 405}, wrong
    assert "Delivered" in pages["/activity"].text and "score" in pages["/api/v1/activity?per_page=200"].text
    return {path: answer.text for path, answer in pages.items()}


def _errors(stack, browser, csrf: str, token: str) -> tuple[dict[str, str], dict[str, str]]:
    """Canditech's secrets sealed under a key the hub lacks, then a new API key saved on the
    settings form and through the API, and a webhook to Canditech's URL: each a 503 saying the
    hub's keys cannot read the stored secrets. Returns their answers (where -> text) and the keys
    sent (value -> label)."""
    with stack.app.app_context():
        row = db.session.scalar(sa.select(Integration).where(Integration.plugin == "canditech"))
        row.secrets_encrypted = Fernet(Fernet.generate_key()).encrypt(b'{"api_key": "lost"}').decode()
        key = row.webhook_key
        db.session.commit()
    typed, sent = (f"canditech-key-{how}-{uuid.uuid4().hex}" for how in ("typed", "sent"))
    answers = {
        "the error page of the settings form": browser.post(
            stack.hub_url + "/integrations/canditech/settings", data={"csrf_token": csrf, "api_key": typed},
            timeout=10),
        "the API's error": requests.put(stack.hub_url + "/api/v1/integrations/canditech", json={"api_key": sent},
                                      headers={"Authorization": f"Bearer {token}"}, timeout=10),
        "the webhook's error": requests.post(f"{stack.hub_url}/webhooks/canditech/{key}", json={}, timeout=10),
    }
    statuses = {where: answer.status_code for where, answer in answers.items()}
    assert set(statuses.values()) == {503}, statuses
    assert 'id="error-page" data-status="503"' in answers["the error page of the settings form"].text
    assert "cannot decrypt the stored secrets" in answers["the error page of the settings form"].text
    assert answers["the API's error"].json()["error"]["code"] == "secrets_unreadable"
    return ({where: answer.text for where, answer in answers.items()},
            {typed: "the API key typed in the settings form", sent: "the API key sent to the API"})


def _logs(stack, topology: str) -> tuple[dict[str, str], dict[str, str]]:
    """Every log file of the hub's processes (``secret_scan.log_texts``) without the line of
    ``hub run``'s first run, and the password that line shows (value -> label). That command
    prints the password of the Super Admin it creates, once, on its console for whoever started it
    (README): the one place a password is shown by design; the rest of its log must not hold it."""
    logs = log_texts(stack.logs)
    assert sorted(logs) == EXPECTED_LOGS[topology] and all(logs.values()), sorted(logs)
    shown = {match.group(1): "the first-run Super Admin's password"
             for text in logs.values() for match in FIRST_RUN.finditer(text)}
    assert len(shown) == (1 if topology == "embedded" else 0), shown
    logs = {name: FIRST_RUN.sub("(the first-run line)", text) for name, text in logs.items()}
    every = "".join(logs.values())  # they really hold the scenario, its errors included
    assert "delivery" in every and "lever access token refreshed" in every
    assert "webhook for canditech not verified: this hub process cannot decrypt the stored secrets" in every
    assert "PUT /api/v1/integrations/canditech: this hub process cannot decrypt the stored secrets" in every
    if topology == "production":
        assert "POST /webhooks/lever/***" in logs["gunicorn-access.log"]
    return logs, shown


@pytest.mark.slow
@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_no_secret_in_clear_in_the_database_logs_or_pages(make_app, tmp_path, topology):
    access_log = tmp_path / "logs" / "gunicorn-access.log"  # gunicorn writes none unless asked
    # every log at its most verbose, as an operator chasing a problem would set them
    stack = start_stack(make_app, tmp_path, topology, env_overrides={
        **LEVER_OAUTH, "HUB_LOG_LEVEL": "DEBUG",
        "GUNICORN_CMD_ARGS": f"--access-logfile {shlex.quote(str(access_log))} --log-level debug"})
    try:
        with stack.app.app_context():
            services.create_user(1, ADMIN_EMAIL, "super_admin", password=ADMIN_PASSWORD)
        browser, csrf = _sign_in(stack, ADMIN_EMAIL, ADMIN_PASSWORD)
        _connect_lever_with_oauth(stack, browser, csrf)
        first = integration_secrets(stack.app)  # with the OAuth tokens Lever rotates in the story
        token = _api_token(stack, browser, csrf)
        member = api(stack.hub_url + "/api/v1/users", "POST", headers={"Authorization": f"Bearer {token}"},
                     json={"email": "secrets-member@example.com", "role": "team_member"})
        api(stack.url("lever") + "/_sandbox/oauth/expire", "POST", json={"client_id": DEFAULT_CLIENT_ID})
        assert run_story(stack, faulty=False) == EXPECTED
        _through_vervoe(stack)

        held = integration_secrets(stack.app)
        assert set(held.values()) >= {
            "lever api_key", "lever oauth_access_token", "lever oauth_refresh_token", "lever webhook_tokens",
            "canditech api_key", "canditech webhook_secrets", "vervoe api_key", "vervoe api_secret",
            "vervoe webhook_secret", "vervoe access_token"}, held
        assert sorted(label for value, label in first.items() if value not in held) == [
            "lever oauth_access_token", "lever oauth_refresh_token"]  # rotated: both old ones are searched too
        secrets = {**first, **held, **hub_keys(stack.app.config),
                   DEFAULT_CLIENT_SECRET: "Lever's OAuth client secret (HUB_LEVER_CLIENT_SECRET)",
                   ADMIN_PASSWORD: "the admin's password", member["generated_password"]: "a generated password",
                   token: "the API token"}
        urls = webhook_keys(stack.app)
        pages = _pages(stack, browser, token)
        error_pages, sent = _errors(stack, browser, csrf, token)
        logs, shown = _logs(stack, topology)
        secrets.update({**sent, **shown})

        found = leaks(secrets, {**database_texts(stack.app), **logs, **pages, **error_pages})
        # the webhook URL's key is stored in clear by design (the hub looks each webhook up by it),
        # and shown on the integration's page and in its API answer (an admin copies the URL into
        # the vendor): it is searched in the logs and every other answer
        found += leaks(urls, {**logs, **error_pages, **{path: text for path, text in pages.items()
                                                        if not path.startswith(SHOWS_WEBHOOK_URLS)}})
        assert found == []
    except AssertionError:
        print(stack.diagnosis())
        raise
    finally:
        stack.stop()
