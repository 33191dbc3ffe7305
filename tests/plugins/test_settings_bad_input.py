"""Bad values in the plugins' settings are refused, naming the field, never silently changed.

* Whole-number settings (every ``fields.Integer`` of the Canditech, Lever and Vervoe schemas) take a
  JSON integer, or the text of one as the settings form posts it ("72"); a fraction (1.5, 71.9, 0.5),
  even a whole one written as a decimal (2.0), is refused with the field's own message (marshmallow's
  ``Integer`` cut 1.5 to 1 and saved it), and so is text ``int()`` would take that is no whole number
  as typed ("1_0", Arabic-Indic digits). The API answers 422, the form shows the error at the field.
* Text settings (ids, API keys and secrets, signature tokens) refuse control and invisible
  characters (Unicode categories Cc and Cf: U+0001, U+200B, U+202E...), naming them; a key pasted
  with spaces or a line break around it is stored without them, as the form always did.
"""

from __future__ import annotations

import re

import pytest
from marshmallow import ValidationError, fields

import plugins.canditech as canditech
import plugins.lever as lever
import plugins.vervoe as vervoe
from hub.extensions import db
from hub.runtime import get_runtime
from plugins.canditech.settings import CanditechSettingsSchema
from plugins.lever.settings import LeverSettingsSchema
from plugins.vervoe.settings import VervoeSettingsSchema
from tests.support.engine import api_client
from tests.web.support import make_user, sign_in

OWNER = "owner@settings-input.test"
SCHEMAS = {"canditech": CanditechSettingsSchema, "lever": LeverSettingsSchema, "vervoe": VervoeSettingsSchema}
# the least each schema loads
MINIMAL = {"canditech": {"api_key": "key-1"}, "lever": {}, "vervoe": {"api_key": "key-1", "api_secret": "secret-1"}}
BURST_MESSAGE = "Enter a whole number of requests from 1 to 100 (the default is 20)."


def _integer_fields() -> list[tuple[str, str]]:
    return [(plugin, name) for plugin, schema in SCHEMAS.items()
            for name, field in schema().fields.items() if isinstance(field, fields.Integer)]


INTEGER_FIELDS = _integer_fields()


def _message(plugin: str, name: str) -> str:
    return SCHEMAS[plugin]().fields[name].error_messages["invalid"]


def _low(plugin: str, name: str) -> int:
    """A valid value of the field: its lower bound."""
    for validator in SCHEMAS[plugin]().fields[name].validators:
        if getattr(validator, "min", None) is not None:
            return int(validator.min)
    return 1


# ---------------------------------------------------------------- the schemas
NOT_WHOLE = [1.5, 0.5, 71.9, 2.0, -0.0, "1.5", "2.0", "1e1", "1_0", "\u0661\u0660", "12abc", "", True, [1], {"n": 1}]


@pytest.mark.parametrize("plugin, name", INTEGER_FIELDS)
def test_a_whole_number_setting_takes_whole_numbers_only(plugin, name):
    for given in NOT_WHOLE:  # the first ones were cut to a whole number and saved
        with pytest.raises(ValidationError) as caught:
            SCHEMAS[plugin]().load({**MINIMAL[plugin], name: given})
        assert caught.value.messages == {name: [_message(plugin, name)]}, given
    low = _low(plugin, name)
    for given in (low, str(low), f" {low} ", f"+{low}", str(low + 1)):  # JSON, or the form's text
        assert SCHEMAS[plugin]().load({**MINIMAL[plugin], name: given})[name] == int(str(given).strip())
    # out of range: the range's message (the burst says both in one sentence)
    for given in (-1, "-1", "9" * 5000):  # more digits than int() converts
        with pytest.raises(ValidationError) as caught:
            SCHEMAS[plugin]().load({**MINIMAL[plugin], name: given})
        (message,) = caught.value.messages[name]
        assert message != _message(plugin, name) or name == "rate_limit_burst", given


# the text settings that are ids, keys or secrets, with a value each that is valid
TEXT_FIELDS = [
    ("canditech", "api_key", "key-1"),
    ("canditech", "webhook_secrets", "whsec-0123456789"),
    ("lever", "perform_as", "8d49b010-4b7c-4f64-a1f4-0a8a4c5d0e1f"),
    ("lever", "api_key", "lever-key-1"),
    ("lever", "signature_tokens", "token-0123456789"),
    ("vervoe", "api_key", "key-1"),
    ("vervoe", "api_secret", "secret-1"),
    ("vervoe", "webhook_secret", "whsec-0123456789"),
]
CONTROL = [("\x01", "U+0001"), ("\x00", "U+0000"), ("\x7f", "U+007F"), ("\x9b", "U+009B"), ("\u200b", "U+200B"),
           ("\u202e", "U+202E"), ("\ufeff", "U+FEFF"), ("\u2066", "U+2066")]


@pytest.mark.parametrize("plugin, name, good", TEXT_FIELDS)
@pytest.mark.parametrize("char, code", CONTROL)
def test_a_control_or_invisible_character_in_a_text_setting_is_refused_naming_it(plugin, name, good, char, code):
    for value in (good[:3] + char + good[3:], good + char, char):
        with pytest.raises(ValidationError) as caught:
            SCHEMAS[plugin]().load({**MINIMAL[plugin], name: value})
        assert set(caught.value.messages) == {name}, value
        (message,) = caught.value.messages[name]
        assert message.startswith(f"Holds an invisible or control character ({code}), which "), message
        assert good not in message  # never the value (a secret) itself


def test_the_message_names_several_characters_once_each():
    with pytest.raises(ValidationError) as caught:
        LeverSettingsSchema().load({"perform_as": "a\x01b\x01c\u200bd"})
    assert caught.value.messages == {"perform_as": [
        "Holds invisible or control characters (U+0001, U+200B), which a Lever user id cannot contain."]}
    # letters of any script, accents, spaces and punctuation are no control characters
    assert LeverSettingsSchema().load({"perform_as": "Zoë Ångström 山田-1"})["perform_as"] == "Zoë Ångström 山田-1"


def test_spaces_and_line_breaks_around_a_text_setting_are_dropped():
    for plugin, name, good in TEXT_FIELDS:  # Lever's signature tokens, Canditech's and Vervoe's keys kept them
        loaded = SCHEMAS[plugin]().load({**MINIMAL[plugin], name: f"  {good}\r\n"})
        assert loaded[name] == good, (plugin, name)


@pytest.mark.parametrize("plugin, name", [("canditech", "webhook_secrets"), ("lever", "signature_tokens"),
                                         ("vervoe", "webhook_secret")])
def test_secrets_one_per_line_keep_their_line_breaks_but_not_other_control_characters(plugin, name):
    loaded = SCHEMAS[plugin]().load({**MINIMAL[plugin], name: "first-secret-1\r\nsecond-secret-2,\tthird-secret-3"})
    assert "first-secret-1" in loaded[name] and "third-secret-3" in loaded[name]
    with pytest.raises(ValidationError) as caught:
        SCHEMAS[plugin]().load({**MINIMAL[plugin], name: "first-secret-1\nsecond\x0bsecret-2"})
    assert caught.value.messages[name][0].startswith("Holds an invisible or control character (U+000B), which ")


def test_a_blank_api_key_is_no_key():
    for plugin in ("canditech", "vervoe"):
        with pytest.raises(ValidationError) as caught:
            SCHEMAS[plugin]().load({**MINIMAL[plugin], "api_key": " \n"})
        assert set(caught.value.messages) == {"api_key"}
    assert LeverSettingsSchema().load({"api_key": " \n"})["api_key"] is None  # optional there


# ---------------------------------------------------------------- the hub: API and form
@pytest.fixture
def app(make_app):
    app = make_app(plugins=[("canditech", canditech), ("lever", lever), ("vervoe", vervoe)], entry_points=False)
    with app.app_context():
        make_user(1, OWNER, "super_admin")
        db.session.commit()
    return app


@pytest.fixture
def api(app):
    return api_client(app, OWNER, "settings input test")


@pytest.fixture
def browser(app):
    client = app.test_client()
    assert sign_in(client, OWNER).status_code == 302
    return client


def _stored(app, plugin: str) -> tuple[dict, dict]:
    with app.app_context():
        runtime = get_runtime()
        row = runtime.integration(1, plugin)
        return dict(row.settings or {}), runtime.secret_box.decrypt(row.secrets_encrypted)


def test_the_audits_fractions_through_the_api_are_422_naming_each_field_and_nothing_is_saved(app, api):
    assert {plugin for plugin, _ in INTEGER_FIELDS} == set(SCHEMAS)  # every plugin's were checked above
    assert _message("canditech", "rate_limit_burst") == BURST_MESSAGE
    assert _message("lever", "max_webhook_age_hours") == "Not a valid integer."  # the form: "Enter a whole number."
    response = api("PUT", "/integrations/canditech", json={"api_key": "key-1", "rate_limit_burst": 1.5})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["fields"] == {"rate_limit_burst": [BURST_MESSAGE]}
    assert response.get_json()["error"]["message"] == "invalid field: rate_limit_burst"
    assert _stored(app, "canditech")[0] == {}

    response = api("PUT", "/integrations/lever", json={"max_webhook_age_hours": 71.9, "max_clock_skew_minutes": 0.5})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["fields"] == {"max_webhook_age_hours": ["Not a valid integer."],
                                                      "max_clock_skew_minutes": ["Not a valid integer."]}
    assert _stored(app, "lever")[0] == {}

    response = api("PUT", "/integrations/vervoe",
                   json={"api_key": "k", "api_secret": "s", "sending_window_seconds": 299.5})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"sending_window_seconds": ["Not a valid integer."]}

    # whole numbers, as JSON or as text, are saved as they are
    response = api("PUT", "/integrations/lever", json={"max_webhook_age_hours": 71, "max_clock_skew_minutes": "0"})
    assert response.status_code == 200
    settings = _stored(app, "lever")[0]
    assert (settings["max_webhook_age_hours"], settings["max_clock_skew_minutes"]) == (71, 0)


FORMS = {
    "canditech": {"base_url": "http://127.0.0.1:8002", "api_key": "key-1", "signature_header": "Canditech-Signature",
                  "signature_tolerance_seconds": "300", "reconcile_after_minutes": "10", "verdict_watch_days": "14",
                  "rate_limit_per_second": "10", "rate_limit_burst": "20"},
    "lever": {"environment": "production", "auth_mode": "api_key", "api_key": "", "signature_tokens": "",
              "perform_as": "", "max_webhook_age_hours": "72", "max_clock_skew_minutes": "5", "tag_results": "y"},
    "vervoe": {"base_url": "https://api.vervoe.com/api", "api_key": "key-1", "api_secret": "secret-1",
               "signature_tolerance_seconds": "300", "reconcile_after_minutes": "30",
               "unscored_result_after_minutes": "1440", "verdict_watch_days": "14", "sending_window_seconds": "300"},
}


def _field_error(html: str, name: str) -> str | None:
    found = re.search(rf'id="setting-{name}-error"[^>]*>(.*?)<', html, re.S)
    return found.group(1).strip() if found else None


@pytest.mark.parametrize("plugin, name", INTEGER_FIELDS)
def test_the_form_refuses_what_is_no_whole_number_at_the_field(app, browser, plugin, name):
    expected = "Enter a whole number." if _message(plugin, name) == "Not a valid integer." else _message(plugin, name)
    for typed in ("1.5", "1_0", "\u0661\u0660"):  # int() took the last two: 10
        response = browser.post(f"/integrations/{plugin}/settings", data={**FORMS[plugin], name: typed})
        html = response.get_data(as_text=True)
        assert response.status_code == 422, typed
        assert _field_error(html, name) == expected, typed
        assert name not in _stored(app, plugin)[0]
    response = browser.post(f"/integrations/{plugin}/settings", data={**FORMS[plugin], name: str(_low(plugin, name))})
    assert response.status_code == 302
    assert _stored(app, plugin)[0][name] == _low(plugin, name)


def test_the_audits_control_character_through_the_api_is_a_422_naming_the_field(app, api):
    response = api("PUT", "/integrations/lever", json={"perform_as": "\u0001"})
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["message"] == "invalid field: perform_as"
    assert error["fields"] == {"perform_as": [
        "Holds an invisible or control character (U+0001), which a Lever user id cannot contain."]}
    assert "perform_as" not in _stored(app, "lever")[0]
    response = api("PUT", "/integrations/vervoe", json={"api_key": "sekrit\u200bvalue", "api_secret": "secret-1"})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"api_key": [
        "Holds an invisible or control character (U+200B), which an API key cannot contain."]}
    assert "sekrit" not in response.get_data(as_text=True)  # the secret is not echoed


def test_a_key_pasted_with_a_line_break_through_the_api_is_stored_without_it(app, api):
    response = api("PUT", "/integrations/canditech", json={"api_key": "key-1\n", "webhook_secrets": " whsec-0123456789\n"})
    assert response.status_code == 200
    secrets = _stored(app, "canditech")[1]
    assert (secrets["api_key"], secrets["webhook_secrets"]) == ("key-1", "whsec-0123456789")
    response = api("PUT", "/integrations/vervoe", json={"api_key": "\tkey-1\r\n", "api_secret": "secret-1 "})
    assert response.status_code == 200
    secrets = _stored(app, "vervoe")[1]
    assert (secrets["api_key"], secrets["api_secret"]) == ("key-1", "secret-1")


def test_the_form_shows_the_control_character_error_at_the_field(app, browser):
    response = browser.post("/integrations/lever/settings", data={**FORMS["lever"], "perform_as": "user\u202e-1"})
    assert response.status_code == 422
    assert _field_error(response.get_data(as_text=True), "perform_as") == (
        "Holds an invisible or control character (U+202E), which a Lever user id cannot contain.")
    assert "perform_as" not in _stored(app, "lever")[0]
    response = browser.post("/integrations/canditech/settings", data={**FORMS["canditech"], "api_key": "key\x01-1"})
    assert response.status_code == 422
    assert _field_error(response.get_data(as_text=True), "api_key") == (
        "Holds an invisible or control character (U+0001), which an API key cannot contain.")
