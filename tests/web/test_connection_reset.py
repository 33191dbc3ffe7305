"""Saving settings that the last connection test depended on (fields marked
``metadata={"connection": True}``: the API key, the base URL) takes "Connected" (or an error)
back to "not tested yet": the page said "Connected · The last test or use worked" about a key
that was no longer the one stored."""

from __future__ import annotations

import pytest

from hub.extensions import db
from hub.runtime import get_runtime

FORM = {"account": "acme", "region": "eu", "base_url": "https://api.fake-ats.example", "max_rate": "10",
        "api_key": "", "signature_token": ""}


def set_status(app, status: str, message: str | None = None) -> None:
    with app.app_context():
        row = get_runtime().integration(1, "fakesource")
        row.status, row.status_message = status, message
        db.session.commit()


def status(app) -> tuple[str, str | None]:
    with app.app_context():
        row = get_runtime().integration(1, "fakesource")
        return row.status, row.status_message


@pytest.mark.parametrize("before", ["connected", "error"])
@pytest.mark.parametrize("change, named", [({"api_key": "a-new-key-0001"}, "API key"),
                                           ({"base_url": "https://eu.fake-ats.example"}, "Base URL")])
def test_a_changed_connection_setting_asks_for_a_new_test(hub_app, seeded, as_role, before, change, named):
    set_status(hub_app, before, "Fake ATS refused the key" if before != "connected" else None)
    response = as_role("super_admin").post("/integrations/fakesource/settings", data={**FORM, **change})
    assert response.status_code == 302
    assert status(hub_app) == ("configured", f"{named} changed since the connection was last tested: "
                                             "test the connection again")
    page = as_role("super_admin").get("/integrations/fakesource").get_data(as_text=True)
    assert "test the connection again" in page


def test_needs_reconnecting_stays_until_a_connect_or_test_clears_it(hub_app, seeded, as_role):
    """A new base URL cannot revive a dead OAuth grant: 'configured' would have hidden 'needs
    reconnecting' from the dashboard and let a backfill go ahead."""
    set_status(hub_app, "needs_reauthorization", "connect again")
    response = as_role("super_admin").post("/integrations/fakesource/settings",
                                           data={**FORM, "base_url": "https://eu.fake-ats.example"})
    assert response.status_code == 302
    assert status(hub_app) == ("needs_reauthorization", "connect again")


def test_a_connection_setting_new_to_the_stored_settings_is_no_change(hub_app, seeded, as_role):
    """A plugin version adding a connection field: its default was not what the last test used,
    but nothing the admin connected with changed either."""
    with hub_app.app_context():
        row = get_runtime().integration(1, "fakesource")
        row.settings = {k: v for k, v in (row.settings or {}).items() if k != "base_url"}
        row.status = "connected"
        db.session.commit()
    assert as_role("super_admin").post("/integrations/fakesource/settings",
                                       data={**FORM, "max_rate": "7"}).status_code == 302
    assert status(hub_app)[0] == "connected"


def test_other_settings_and_a_key_given_again_unchanged_keep_the_status(hub_app, seeded, as_role):
    from tests.web.support import SECRET_VALUE

    set_status(hub_app, "connected")
    client = as_role("super_admin")
    assert client.post("/integrations/fakesource/settings", data={**FORM, "max_rate": "7"}).status_code == 302
    assert client.post("/integrations/fakesource/settings",
                       data={**FORM, "api_key": SECRET_VALUE, "signature_token": "whsec-rotated"}).status_code == 302
    assert status(hub_app) == ("connected", None)


@pytest.mark.parametrize("plugin, expected", [
    ("lever", {"environment", "base_url", "auth_mode", "api_key", "perform_as"}),
    ("canditech", {"base_url", "api_key"}),
    ("vervoe", {"base_url", "api_key", "api_secret"}),
])
def test_the_bundled_plugins_mark_what_their_connection_test_depends_on(plugin, expected):
    import importlib

    from hub.services import connection_fields

    settings = importlib.import_module(f"plugins.{plugin}.settings")
    schema = next(value for name, value in vars(settings).items() if name.endswith("SettingsSchema")
                  or (isinstance(value, type) and name.endswith("Schema") and value.__module__ == settings.__name__))
    assert connection_fields(schema) == expected
