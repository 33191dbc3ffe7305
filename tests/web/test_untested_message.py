"""The status message a save of connection settings stores ("<labels> changed since the connection
was last tested: <next step>"): its next step is the page's (the plugin's ``credentials_help``, or
the hub's own words when the plugin gives none), later saves add to its names only when the stored
message is of exactly that form, and what the plugin answered about the saved settings is written
only while the row still holds them (a save by someone else in between writes its own)."""

from __future__ import annotations

import pytest

from hub import hookimpl, services
from hub.entities import ConnectionState
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Integration
from tests.web.support import FakeAssess, FakeSource, seed, sign_in

NO_KEY_URL = "https://no-key.fake-ats.example"
FORM = {"account": "acme", "region": "eu", "base_url": "https://api.fake-ats.example", "max_rate": "10",
        "api_key": "", "signature_token": ""}


class SourceWithoutHelp(FakeSource):
    """The fake ATS, whose connection has no credentials at one base URL, and which never says what
    to enter (no ``credentials_help``)."""

    @hookimpl
    def connection_state(self, ctx):
        return ConnectionState(credentials_present=ctx.settings.get("base_url") != NO_KEY_URL, oauth_chosen=False)


@pytest.fixture
def app(make_app):
    app = make_app(plugins=[("fakesource", SourceWithoutHelp()), ("fakeassess", FakeAssess())], entry_points=False)
    app.seeded = seed(app)
    return app


def _owner(app):
    client = app.test_client()
    assert sign_in(client, app.seeded.email("super_admin")).status_code == 302
    return client


def _set_status(app, status: str, message: str | None) -> None:
    with app.app_context():
        row = get_runtime().integration(1, "fakesource")
        row.status, row.status_message = status, message
        db.session.commit()


def _status(app) -> tuple[str, str | None]:
    with app.app_context():
        row = get_runtime().integration(1, "fakesource")
        return row.status, row.status_message


def test_untested_labels_reads_only_a_message_of_its_own_form():
    read = services.untested_labels
    assert read("Base URL, API key changed since the connection was last tested: test the connection again") == [
        "Base URL", "API key"]
    assert read("API key changed since the connection was last tested: connect with Lever (OAuth)") == ["API key"]
    # a plugin's or a test's words that contain the phrase are not taken apart
    assert read("Fake ATS said: the account changed since the connection was last tested: retry") is None
    assert read("API key changed since the connection was last tested") is None
    assert read(None) is None and read("") is None


def test_without_the_plugins_help_the_next_step_is_the_hubs_words(app):
    _set_status(app, "connected", None)
    answer = _owner(app).post("/integrations/fakesource/settings", data={**FORM, "base_url": NO_KEY_URL})
    assert answer.status_code == 302
    assert _status(app) == ("configured", "Base URL changed since the connection was last tested: "
                                          "enter its credentials in the settings and save")
    # and Test says the same next step, not "enter them in the settings"
    tested = _owner(app).post("/integrations/fakesource/test", follow_redirects=True).get_data(as_text=True)
    assert ("Fake ATS has no credentials yet, so there is nothing to test: enter its credentials in the settings "
            "and save.") in tested


def test_a_later_change_adds_its_name_and_a_foreign_message_is_not_merged(app):
    owner = _owner(app)
    _set_status(app, "connected", None)
    owner.post("/integrations/fakesource/settings", data={**FORM, "base_url": "https://eu.fake-ats.example"})
    owner.post("/integrations/fakesource/settings", data={**FORM, "base_url": "https://eu.fake-ats.example",
                                                          "api_key": "a-new-key-0001"})
    assert _status(app) == ("configured", "Base URL, API key changed since the connection was last tested: "
                                          "test the connection again")
    # "configured" with a message that merely contains the phrase: its words are not split into names
    _set_status(app, "configured", "Fake ATS: Region changed since the connection was last tested: ask support")
    owner.post("/integrations/fakesource/settings", data={**FORM, "base_url": "https://us.fake-ats.example"})
    assert _status(app) == ("configured", "Fake ATS: Region changed since the connection was last tested: ask support")


def test_the_plugins_answer_is_not_written_over_a_save_made_in_between(app, monkeypatch):
    """Admin A saves the base URL without a key; before A's follow-up writes "enter its
    credentials", admin B saves another base URL (which has the key). A's answer was about A's
    settings: the message B's save stored stays."""
    asked = services.connection_state

    def someone_saves_meanwhile(workspace_id, plugin, row=None):
        answer = asked(workspace_id, plugin, row)
        current = db.session.get(Integration, get_runtime().integration(1, "fakesource").id)
        current.settings = {**current.settings, "base_url": "https://us.fake-ats.example"}
        db.session.commit()
        return answer

    _set_status(app, "connected", None)
    monkeypatch.setattr(services, "connection_state", someone_saves_meanwhile)
    answer = _owner(app).post("/integrations/fakesource/settings", data={**FORM, "base_url": NO_KEY_URL})
    assert answer.status_code == 302
    assert _status(app) == ("configured", "Base URL changed since the connection was last tested: "
                                          "test the connection again")
