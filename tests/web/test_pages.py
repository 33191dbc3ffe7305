"""Every page, for every role that may open it: renders, obeys the CSP (no inline script or
style), labels every input, keeps element ids unique, and links the one stylesheet."""

from __future__ import annotations

import re
from collections import Counter

from tests.web.support import ROLES

PAGES = {
    "/": ROLES,
    "/candidates": ROLES,
    "/candidates/{invitation}": ROLES,
    "/integrations": ROLES[:2],
    "/integrations/fakesource": ROLES[:2],
    "/integrations/fakeassess": ROLES[:2],
    "/integrations/fakesource/revoke": ROLES[:1],
    "/pipeline": ROLES[:2],
    "/pipeline/new?posting_id=p1": ROLES[:2],
    "/pipeline/{attachment}/edit": ROLES[:2],
    "/pipeline/{attachment}/detach": ROLES[:2],
    "/activity": ROLES[:2],
    "/users": ROLES[:2],
    "/audit": ROLES[:2],
    "/settings/api-tokens": ROLES[:1],
}

CONTROL = re.compile(r"<(input|select|textarea)\b([^>]*)>", re.S)


def _check(html: str, where: str) -> list[str]:
    problems = []
    for attrs in re.findall(r"<script\b([^>]*)>", html):
        if "src=" not in attrs:
            problems.append(f"{where}: inline <script>")
    if re.search(r"<style\b", html) or re.search(r"\sstyle=", html) or re.search(r"\son[a-z]+=", html):
        problems.append(f"{where}: inline style or event handler")
    # "cdn" only in an address: anywhere in the page it matched the session's random CSRF token ("…cDn…")
    if re.search(r'(src|href)="[^"]*cdn', html, re.I) or \
            re.search(r'(src|href)="https?://(?!hub\.test|ats\.example|tests\.example)', html):
        problems.append(f"{where}: external asset")
    labels = set(re.findall(r'<label[^>]*for="([^"]+)"', html))
    for tag, attrs in CONTROL.findall(html):
        if 'type="hidden"' in attrs:
            continue
        control_id = re.search(r'id="([^"]+)"', attrs)
        if not control_id or (control_id.group(1) not in labels and "aria-label=" not in attrs):
            problems.append(f"{where}: <{tag}{attrs[:60]}> has no label")
    duplicates = [i for i, n in Counter(re.findall(r'\sid="([^"]+)"', html)).items() if n > 1]
    if duplicates:
        problems.append(f"{where}: duplicate ids {duplicates}")
    if '<link rel="stylesheet" href="/assets/hub.css">' not in html or 'href="#main"' not in html:
        problems.append(f"{where}: missing stylesheet or skip link")
    return problems


def test_every_page_for_every_role(hub_app, seeded, as_role):
    problems = []
    ids = {"invitation": seeded.ids["invitation"], "attachment": seeded.per_role["admin"]["att_keep"]}
    for role in ROLES:
        client = as_role(role)
        for template, roles in PAGES.items():
            if role not in roles:
                continue
            path = template.format(**ids)
            response = client.get(path)
            if response.status_code != 200:
                problems.append(f"{path} as {role}: {response.status_code}")
                continue
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            problems += _check(response.get_data(as_text=True), f"{path} as {role}")
    sign_in_page = hub_app.test_client().get("/sign-in").get_data(as_text=True)
    problems += _check(sign_in_page, "/sign-in")
    assert not problems, "\n".join(problems)


def test_assets_are_served_from_the_package(hub_app):
    client = hub_app.test_client()
    for name, mimetype in (("hub.css", "text/css"), ("hub.js", "text/javascript")):
        response = client.get(f"/assets/{name}")
        assert response.status_code == 200 and response.mimetype == mimetype
        response.close()


def test_error_pages_are_html_and_helpful(as_role):
    client = as_role("team_member")
    missing = client.get("/candidates/999999")
    html = missing.get_data(as_text=True)
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert 'id="error-page" data-status="404"' in html and "No such invitation." in html
    assert 'id="nav-candidates"' in html  # the navigation is still there
    forbidden = client.get("/integrations")
    assert forbidden.status_code == 403 and "You do not have access to this" in forbidden.get_data(as_text=True)
    assert client.get("/no-such-page").status_code == 404


def test_timestamps_are_relative_with_the_exact_time(hub_app, seeded, as_role):
    html = as_role("admin").get(f"/candidates/{seeded.ids['invitation']}").get_data(as_text=True)
    stamps = re.findall(r'<time datetime="([^"]+)" title="([^"]+)" data-relative>([^<]+)</time>', html)
    assert stamps
    iso, exact, relative = stamps[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", iso)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", exact)
    assert relative in ("just now",) or relative.endswith(" ago")


def test_relative_time_wording():
    from datetime import datetime, timedelta, timezone

    from hub.web.ui.helpers import relative_time

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert relative_time(now - timedelta(seconds=10), now) == "just now"
    assert relative_time(now - timedelta(minutes=1), now) == "1 minute ago"
    assert relative_time(now - timedelta(minutes=90), now) == "2 hours ago"
    assert relative_time(now - timedelta(days=3), now) == "3 days ago"
    assert relative_time(now + timedelta(minutes=5), now) == "in 5 minutes"
    assert relative_time(now - timedelta(days=800), now) == "2 years ago"
    assert relative_time(None, now) == "never"


def test_there_is_no_flask_static_route_only_the_ui_assets(hub_app):
    """Flask's default /static/<path> pointed at a folder the hub does not have (every answer a 404)."""
    assert "static" not in hub_app.view_functions
    assert not [rule.rule for rule in hub_app.url_map.iter_rules() if rule.rule.startswith("/static")]


def test_an_asset_response_left_unclosed_holds_no_open_file(hub_app):
    """werkzeug's development server (``hub run``) skips closing a response when the browser resets
    the connection at the wrong moment; an asset served as an open file then leaked it (a
    ResourceWarning, which failed a browser test in CI). Each asset is now bytes read whole."""
    import gc
    import sys
    import warnings

    from werkzeug.test import EnvironBuilder

    unraisable = []
    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            for name in ("favicon.svg", "hub.css", "hub.js"):
                for headers in ({}, {"If-None-Match": "*"}):
                    environ = EnvironBuilder(path=f"/assets/{name}", headers=headers).get_environ()
                    statuses = []
                    body = hub_app.wsgi_app(environ, lambda status, _headers, _exc=None: statuses.append(status))
                    assert statuses and statuses[0].split()[0] in ("200", "304"), (name, statuses)
                    del body  # dropped without close(), as the server does after a reset
            gc.collect()
    finally:
        sys.unraisablehook = previous_hook
    assert not unraisable, [str(item.exc_value) for item in unraisable]


def test_assets_answer_conditional_requests_and_refuse_paths_outside_the_folder(hub_app):
    client = hub_app.test_client()
    first = client.get("/assets/favicon.svg")
    assert first.status_code == 200 and first.mimetype == "image/svg+xml" and first.data.startswith(b"<svg")
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    again = client.get("/assets/favicon.svg", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    for path in ("/assets/../__init__.py", "/assets/%2e%2e/__init__.py", "/assets/nope.css", "/assets/"):
        assert client.get(path).status_code == 404, path
