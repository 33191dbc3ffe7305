"""Findings of a penetration-test style walk of the web app (each test failed before its fix).

1. The ATS's users a Lever setting offers (names and emails, ``/integrations/<plugin>/suggestions/
   <field>``) were answered as JSON without ``Cache-Control: no-store``: only the HTML pages had it.
2. Secrets are write-only, yet a save that pointed the base URL elsewhere kept the stored API key,
   which the next request (Test connection) sent to the new address: a Super Admin session or token
   read the vendor's key out with its own server. Such a save must now type the key in again.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from hub.extensions import db
from hub.store.models import Integration
from tests.web import test_integration_next_step as next_step
from tests.web import test_perform_as_users as perform_as

GOOD_KEY = next_step.GOOD_KEY
lever_sandbox, lever = next_step.lever_sandbox, next_step.lever  # the fixtures, shared


def test_the_users_a_setting_offers_are_never_cached(lever):
    app, client, form = lever
    refused = client.get(perform_as.SUGGESTIONS)  # no key yet: a JSON 409
    assert refused.status_code == 409 and refused.headers.get("Cache-Control") == "no-store"
    perform_as._connected(lever)
    answer = client.get(perform_as.SUGGESTIONS)
    assert answer.status_code == 200 and "ada.admin@example.com" in answer.get_data(as_text=True)
    assert answer.headers.get("Cache-Control") == "no-store"
    asset = client.get("/assets/hub.js")  # the assets keep their own caching
    assert asset.status_code == 200 and asset.headers.get("Cache-Control") != "no-store"


@pytest.fixture
def listener():
    """An HTTP server standing for someone else's: the Authorization headers it was sent."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            seen.append(self.headers.get("Authorization") or "")
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"code": "Unauthorized", "message": "no"}')

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


def _stored_base_url(app) -> str | None:
    with app.app_context():
        return db.session.query(Integration).filter_by(plugin="lever").one().settings.get("base_url")


def test_a_new_base_url_needs_the_api_key_typed_again(lever, listener):
    app, client, form = lever
    elsewhere, seen = listener
    perform_as._connected(lever)
    moved = client.post("/integrations/lever/settings", data={**form, "base_url": elsewhere})
    assert moved.status_code == 422
    assert "Enter the API key again to save a new Custom base URL" in moved.get_data(as_text=True)
    assert _stored_base_url(app) == form["base_url"]
    client.post("/integrations/lever/test")
    assert seen == []  # the stored key went nowhere new
    # typed in with it, the new address is saved (whoever saves it knows the key anyway)
    typed = client.post("/integrations/lever/settings", data={**form, "base_url": elsewhere, "api_key": "typed-key"})
    assert typed.status_code == 302 and _stored_base_url(app) == elsewhere
    # a save that leaves the address as it is needs no key
    assert client.post("/integrations/lever/settings", data={**form, "base_url": elsewhere,
                                                             "max_webhook_age_hours": "24"}).status_code == 302
