"""The seed's whole story in a real browser (Debian's chromium, Playwright), against the hub and
the Lever and Canditech sandboxes running as separate processes on loopback, over real HTTP:

A Super Admin signs in, enables and connects Lever (custom environment = the sandbox, API key),
tests the connection, registers the webhooks and verifies them from Lever's side; enables and
connects Canditech and points Canditech's webhooks at the URL the hub shows; attaches "Python
Developer" to "Canditech Stage" of "Backend Engineer". A recruiter moves Alice into that stage in
the Lever sandbox; the invitation appears on the Candidates page; Alice takes the test on the
Canditech page; the score (100) and the report link appear in the hub and the note in Lever; a
reviewer gives a thumbs up; the verdict appears in the hub and the tag in Lever. Then a Limited
Team Member sees only the candidates of the posting they follow (not Dave of "Data Analyst"), and
a Team Member sees every candidate but cannot open Integrations (403).

With ``HUB_TEST_SCREENSHOTS=1``, every page visited is saved as a full-page screenshot in
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
import secrets
import time

import pytest
import requests
from playwright.sync_api import Locator, Page, expect

from tests.browser.stack import LIMITED, PASSWORD, SUPER_ADMIN, TEAM_MEMBER, log_tails, start_browser_stack

pytestmark = pytest.mark.browser

LEVER_API_KEY = "lever-sandbox-key"
CANDITECH_API_KEY = "canditech-sandbox-key"
PYTHON_ANSWERS = {"q1": "b", "q2": "b", "q3": "c", "q4": "a"}  # the answer key: 100


# --------------------------------------------------------------------------- helpers


def reload_until(page: Page, check, timeout: float = 30.0) -> None:
    """Run ``check()`` (Playwright ``expect`` assertions with short timeouts), reloading the page
    until it passes: server-rendered pages change only when reloaded."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        page.reload()


def flash(page: Page, text: str, tone: str = "success") -> None:
    expect(page.locator(f"#flashes .alert--{tone}", has_text=text)).to_be_visible()


def sign_in(page: Page, hub: str, email: str, shots, name: str) -> None:
    page.goto(hub + "/sign-in")
    expect(page.locator("#sign-in-form")).to_be_visible()
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    shots.take(page, f"{name}-sign-in")
    page.click("#sign-in-submit")
    flash(page, f"Signed in as {email}.")
    expect(page.locator("#current-user")).to_be_visible()
    shots.take(page, f"{name}-dashboard")


def sign_out(page: Page, shots, name: str) -> None:
    page.click("#sign-out-button")
    expect(page.locator("#sign-in-form")).to_be_visible()
    flash(page, "You are signed out everywhere.", "info")
    shots.take(page, f"{name}-signed-out")


def choose_option(select: Locator, text: str) -> str:
    """Select the option of ``select`` whose label contains ``text``; returns its value."""
    option = select.locator("option", has_text=text)
    expect(option).to_have_count(1)
    value = option.get_attribute("value")
    select.select_option(value)
    return value


def candidate_row(page: Page, name: str) -> Locator:
    return page.locator("#candidates-table tbody tr", has_text=name)


def api(url: str, method: str = "GET", **kwargs) -> dict:
    answer = requests.request(method, url, timeout=10, **kwargs)
    answer.raise_for_status()
    return answer.json()


def provider_invitation(canditech: str, email: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = [i for i in api(canditech + "/_sandbox/invitations")["data"] if i["candidate"]["email"] == email]
        if found:
            assert len(found) == 1, found
            return found[0]
        assert time.monotonic() < deadline, f"no invitation for {email} at the Canditech sandbox"
        time.sleep(0.2)


# --------------------------------------------------------------------------- the steps


def admin_connects_lever(page: Page, hub: str, lever: str, shots) -> None:
    page.click("#nav-integrations")
    expect(page.locator("#integration-lever")).to_have_attribute("data-enabled", "false")
    expect(page.locator("#integration-canditech")).to_have_attribute("data-enabled", "false")
    shots.take(page, "integrations")

    page.click("#open-lever")
    expect(page.locator("#webhook-url-missing")).to_be_visible()  # no webhook URL before enabling
    shots.take(page, "lever-disabled")
    page.click("#enable-lever")
    flash(page, "Lever is enabled, but not connected yet: enter Lever's API key", tone="info")
    expect(page.locator("#enabled-state")).to_have_attribute("data-status", "done")

    page.select_option("#setting-environment", "custom")
    page.fill("#setting-base_url", lever)
    page.select_option("#setting-auth_mode", "api_key")
    page.fill("#setting-api_key", LEVER_API_KEY)
    shots.take(page, "lever-settings-filled")
    page.click("#save-settings")
    flash(page, "Lever settings saved.")
    expect(page.locator("#setting-api_key")).to_have_value("")  # write-only: never shown back
    expect(page.locator("#setting-api_key-state")).to_contain_text("Set on")
    expect(page.locator("#setting-api_key-state")).to_contain_text(SUPER_ADMIN)
    expect(page.locator("#setting-base_url")).to_have_value(lever)
    assert LEVER_API_KEY not in page.content()

    page.click("#test-connection")
    flash(page, f"Lever is connected at {lever}")
    expect(page.locator("#connection-status")).to_have_attribute("data-status", "connected")
    shots.take(page, "lever-connection-tested")

    page.click("#register-webhooks")
    webhook_url = page.input_value("#webhook-url")
    flash(page, f"webhooks at Lever for {webhook_url}")
    expect(page.locator("#flashes .alert--danger")).to_have_count(0)
    expect(page.locator("#verification-status")).to_have_attribute("data-verified", "false")
    assert webhook_url.startswith(hub + "/webhooks/lever/"), webhook_url
    shots.take(page, "lever-webhooks-registered")

    # "Verify connection" on Lever's side: its webhooks settings page lists the hub's webhooks
    hub_page_url = page.url
    page.goto(lever + "/settings/webhooks")
    hooks = page.locator("table[aria-label=Webhooks] tbody tr", has_text=webhook_url)
    expect(hooks.first).to_be_visible()
    shots.take(page, "lever-sandbox-webhooks")
    hooks.first.locator("button[id^=verify-]").click()
    expect(page.locator("#verify-result")).to_contain_text("succeeded (200)")
    shots.take(page, "lever-sandbox-verified")

    page.goto(hub_page_url)
    reload_until(page, lambda: expect(page.locator("#verification-status")).to_have_attribute(
        "data-verified", "true", timeout=1000))
    expect(page.locator("#verification-status")).to_contain_text("Verified")
    expect(page.locator("#webhook-log tbody tr[data-outcome=ping]")).to_have_count(1)
    shots.take(page, "lever-verified")


def admin_connects_canditech(page: Page, hub: str, canditech: str, shots) -> None:
    webhook_secret = "browser-" + secrets.token_hex(12)
    page.click("#nav-integrations")
    page.click("#open-canditech")
    expect(page.locator("#enabled-state")).to_have_attribute("data-status", "disabled")
    shots.take(page, "canditech-disabled")
    page.click("#enable-canditech")
    flash(page, "Canditech is enabled, but not connected yet: enter Canditech's API key", tone="info")

    page.fill("#setting-base_url", canditech)
    page.fill("#setting-api_key", CANDITECH_API_KEY)
    page.fill("#setting-webhook_secrets", webhook_secret)
    shots.take(page, "canditech-settings-filled")
    page.click("#save-settings")
    flash(page, "Canditech settings saved.")
    expect(page.locator("#setting-webhook_secrets-state")).to_contain_text("Set on")
    assert webhook_secret not in page.content() and CANDITECH_API_KEY not in page.content()

    page.click("#test-connection")
    flash(page, "Canditech is connected: ")
    expect(page.locator("#flashes .alert--danger")).to_have_count(0)
    expect(page.locator("#connection-status")).to_have_attribute("data-status", "connected")
    shots.take(page, "canditech-connected")

    # the admin copies the webhook URL shown in the hub and pastes it, with the secret, into Canditech
    webhook_url = page.input_value("#webhook-url")
    assert webhook_url.startswith(hub + "/webhooks/canditech/"), webhook_url
    config = api(canditech + "/_sandbox/config", "POST",
                 json={"WEBHOOK_URL": webhook_url, "WEBHOOK_SECRET": webhook_secret})
    assert config["WEBHOOK_URL"] == webhook_url


def admin_attaches(page: Page, hub: str, shots, posting: str, assessment: str, name: str) -> None:
    if not page.url.startswith(hub + "/"):
        page.goto(hub + "/")
    page.click("#nav-pipeline")
    expect(page.locator("#attach-link")).to_be_visible()
    shots.take(page, f"pipeline-before-{name}")
    page.click("#attach-link")
    expect(page.locator("#attach-posting-form")).to_be_visible()
    expect(page.locator("#attach-form")).to_have_count(0)  # stage and assessment come after the posting
    shots.take(page, f"attach-{name}-choose-posting")
    choose_option(page.locator("#posting"), posting)
    page.click("#choose-posting")
    expect(page.locator("#step-stage")).to_contain_text(posting)
    page.locator("#stage").select_option(label="Canditech Stage")
    value = choose_option(page.locator("#assessment"), assessment)
    assert value.startswith("canditech:"), value
    shots.take(page, f"attach-{name}-choose-stage-and-assessment")
    page.click("#attach-submit")
    flash(page, f"{assessment} attached to “Canditech Stage” of {posting}.")
    row = page.locator("#attachments-table tbody tr", has_text=posting)
    expect(row).to_contain_text("Canditech Stage")
    expect(row).to_contain_text(assessment)
    shots.take(page, f"pipeline-after-{name}")


def recruiter_moves(page: Page, lever: str, opportunity: str, shots) -> None:
    page.goto(lever + "/")
    page.locator(f"#move-{opportunity}").select_option(label="Canditech Stage")
    page.click(f"#move-{opportunity}-button")
    expect(page.locator(f"#candidate-{opportunity}")).to_have_attribute("data-stage-id", "stage-canditech")
    shots.take(page, f"lever-sandbox-{opportunity}-moved")


def wait_for_invitation(page: Page, hub: str, name: str, shots) -> str:
    """Open Candidates and reload until ``name`` is invited; returns the row's id."""
    page.goto(hub + "/candidates")
    row = candidate_row(page, name)
    reload_until(page, lambda: expect(row).to_have_attribute("data-status", "invited", timeout=1000))
    expect(row.locator(".col-assessment")).not_to_be_empty()
    shots.take(page, f"candidates-{name.split()[0].lower()}-invited")
    return row.get_attribute("id")


# --------------------------------------------------------------------------- the tests


def test_the_story_in_the_browser(make_app, tmp_path, new_page, shots):
    stack = start_browser_stack(make_app, tmp_path)
    hub, lever, canditech = stack.hub_url, stack.url("lever"), stack.url("canditech")
    page = new_page()
    try:
        # --- the Super Admin sets everything up in the UI
        page.goto(hub + "/")
        expect(page.locator("#sign-in-form")).to_be_visible()  # not signed in: the sign-in page
        sign_in(page, hub, SUPER_ADMIN, shots, "super-admin")
        expect(page.locator("#current-role")).to_have_text("Super Admin")
        admin_connects_lever(page, hub, lever, shots)
        admin_connects_canditech(page, hub, canditech, shots)
        page.click("#nav-candidates")
        expect(page.locator("#no-candidates")).to_be_visible()
        shots.take(page, "candidates-empty")
        admin_attaches(page, hub, shots, "Backend Engineer", "Python Developer", "backend")

        # --- a recruiter moves Alice into the stage in Lever: the hub invites her
        recruiter_moves(page, lever, "opp-alice", shots)
        alice_row_id = wait_for_invitation(page, hub, "Alice Anders", shots)
        alice = candidate_row(page, "Alice Anders")
        expect(alice.locator(".col-posting")).to_have_text("Backend Engineer")
        expect(alice.locator(".col-assessment")).to_have_text("Python Developer")
        expect(alice.locator(".profile-link")).to_have_attribute("href", re.compile(re.escape(lever)))

        # --- Alice takes the test on Canditech's page
        invitation = provider_invitation(canditech, "alice@example.com")
        alice.locator("a[id^=open-invitation-]").click()
        invite_link = page.locator("#invite-link")  # the hub's detail shows the candidate's invite link
        expect(invite_link).to_have_attribute("href", invitation["invite_url"])
        expect(page.locator("#timeline")).to_contain_text("by the hub (for Canditech)")
        shots.take(page, "candidate-detail-invite-link")
        page.goto(invite_link.get_attribute("href"))
        expect(page.locator("#assessment-name")).to_have_text("Python Developer")
        for question, answer in PYTHON_ANSWERS.items():
            page.check(f"#{question}-{answer}")
        shots.take(page, "canditech-assessment-answered")
        page.click("#submit-assessment")
        expect(page.locator("#thank-you")).to_be_visible()
        shots.take(page, "canditech-assessment-submitted")

        # --- the score and the report link appear in the hub, the note in Lever
        page.goto(hub + "/candidates")
        alice = page.locator(f"#{alice_row_id}")
        reload_until(page, lambda: (
            expect(alice).to_have_attribute("data-status", "completed", timeout=1000),
            expect(alice.locator(".col-score")).to_contain_text("100", timeout=1000),
            expect(alice.locator(".report-link")).to_be_visible(timeout=1000)))
        report_url = alice.locator(".report-link").get_attribute("href")
        assert report_url == f"{canditech}/reports/{invitation['id']}", report_url
        shots.take(page, "candidates-alice-completed")
        page.goto(report_url)
        expect(page.locator("#report-score")).to_have_text("100 / 100")
        shots.take(page, "canditech-report")

        page.goto(lever + "/candidates/opp-alice")
        note = page.locator("article.note", has_text="100")
        reload_until(page, lambda: expect(note).to_have_count(1, timeout=1000))
        expect(note).to_contain_text(report_url)
        shots.take(page, "lever-sandbox-alice-note")

        # --- a reviewer gives a thumbs up: the verdict appears in the hub, the tag in Lever
        page.goto(f"{canditech}/review/{invitation['id']}")
        expect(page.locator("#current-verdict")).to_have_text("none yet")
        shots.take(page, "canditech-review")
        page.click("#thumbs-up")
        expect(page.locator("#current-verdict")).to_contain_text("Thumbs up")
        expect(page.locator("#thumbs-up")).to_have_attribute("aria-pressed", "true")
        shots.take(page, "canditech-review-thumbs-up")

        page.goto(hub + "/candidates")
        reload_until(page, lambda: expect(alice).to_have_attribute("data-verdict", "thumbs_up", timeout=1000))
        expect(alice.locator(".col-verdict")).to_contain_text("Thumbs up")
        shots.take(page, "candidates-alice-thumbs-up")
        page.click(f"#open-{alice_row_id}")
        expect(page.locator("#invitation-status")).to_have_attribute("data-status", "completed")
        expect(page.locator("#timeline")).to_contain_text("note with the result written to Lever")
        shots.take(page, "candidate-alice-detail")

        page.goto(lever + "/candidates/opp-alice")
        reload_until(page, lambda: expect(page.locator("#tags")).to_contain_text(
            "Canditech: thumbs up", timeout=1000))
        shots.take(page, "lever-sandbox-alice-tagged")

        # --- Dave of "Data Analyst" (a posting the Limited Team Member is not on) is invited too
        admin_attaches(page, hub, shots, "Data Analyst", "Data Analysis", "data-analyst")
        recruiter_moves(page, lever, "opp-dave", shots)
        dave_row_id = wait_for_invitation(page, hub, "Dave Diaz", shots)
        dave_invitation = dave_row_id.removeprefix("invitation-")
        expect(page.locator("#candidates-table tbody tr")).to_have_count(2)
        page.click("#nav-dashboard")
        expect(page.locator("#health-lever")).to_contain_text("Connected")
        expect(page.locator("#health-lever")).to_contain_text("Verified")
        expect(page.locator("#health-canditech")).to_contain_text("Connected")
        expect(page.locator("#stat-invited .stat__value")).to_have_text("1")
        expect(page.locator("#stat-completed .stat__value")).to_have_text("1")
        shots.take(page, "super-admin-dashboard-after")
        sign_out(page, shots, "super-admin")

        # --- the Limited Team Member sees only Backend Engineer's candidate
        sign_in(page, hub, LIMITED, shots, "limited")
        expect(page.locator("#current-role")).to_have_text("Limited Team Member")
        expect(page.locator("#nav-integrations")).to_have_count(0)
        expect(page.locator("#integration-health")).to_have_count(0)
        expect(page.locator("#stat-completed .stat__value")).to_have_text("1")  # Alice
        expect(page.locator("#stat-invited .stat__value")).to_have_text("0")  # not Dave
        page.click("#nav-candidates")
        expect(page.locator("#limited-notice")).to_be_visible()
        expect(page.locator("#candidates-table tbody tr")).to_have_count(1)
        expect(page.locator(f"#{alice_row_id}")).to_have_attribute("data-verdict", "thumbs_up")
        expect(candidate_row(page, "Dave Diaz")).to_have_count(0)
        for select in ("#filter-posting", "#filter-assessment"):  # no hint of Data Analyst either
            expect(page.locator(f"{select} option", has_text="Data Analys")).to_have_count(0)
        shots.take(page, "limited-candidates")
        page.goto(hub + "/candidates?posting=posting-data-analyst")  # a posting they are not on, by URL
        expect(page.locator("#filter-notice-posting")).to_contain_text("There is no posting")  # as for none
        expect(candidate_row(page, "Dave Diaz")).to_have_count(0)
        shots.take(page, "limited-candidates-data-analyst")
        response = page.goto(f"{hub}/candidates/{dave_invitation}")  # not by URL either
        assert response.status == 404
        expect(page.locator("#error-page")).to_have_attribute("data-status", "404")
        shots.take(page, "limited-dave-not-found")
        sign_out(page, shots, "limited")

        # --- the Team Member sees every candidate but cannot open Integrations
        sign_in(page, hub, TEAM_MEMBER, shots, "team-member")
        expect(page.locator("#current-role")).to_have_text("Team Member")
        expect(page.locator("#nav-integrations")).to_have_count(0)
        page.click("#nav-candidates")
        expect(page.locator("#candidates-table tbody tr")).to_have_count(2)
        shots.take(page, "team-member-candidates")
        response = page.goto(hub + "/integrations")
        assert response.status == 403
        expect(page.locator("#error-page")).to_have_attribute("data-status", "403")
        expect(page.locator("#integrations-table")).to_have_count(0)
        shots.take(page, "team-member-integrations-forbidden")
    except BaseException:
        shots.take(page, "FAILED", always=True)
        print(log_tails(stack))
        raise
    finally:
        stack.stop()


def test_pages_need_a_signed_in_user_and_a_right_password(make_app, tmp_path, new_page, shots):
    stack = start_browser_stack(make_app, tmp_path, sandboxes=(), users={TEAM_MEMBER: "team_member"})
    page = new_page()
    try:
        page.goto(stack.hub_url + "/candidates")
        expect(page.locator("#sign-in-form")).to_be_visible()
        assert "/sign-in" in page.url and "next=" in page.url, page.url
        page.fill("#email", TEAM_MEMBER)
        page.fill("#password", "not the password")
        page.click("#sign-in-submit")
        expect(page.locator("#sign-in-error")).to_have_text("That email and password do not match an active account.")
        expect(page.locator("#current-user")).to_have_count(0)
        shots.take(page, "wrong-password")
        page.fill("#password", PASSWORD)
        page.click("#sign-in-submit")
        expect(page.locator("h1")).to_have_text("Candidates")  # back where they were going
        expect(page.locator("#nav-candidates")).to_have_attribute("aria-current", "page")
        shots.take(page, "signed-in-to-candidates")
    except BaseException:
        shots.take(page, "FAILED", always=True)
        print(log_tails(stack))
        raise
    finally:
        stack.stop()
