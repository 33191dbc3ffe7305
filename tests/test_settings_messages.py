"""Settings refused by a plugin's schema: the error's message names the invalid fields and says
why, in marshmallow's words, as a caller outside the web layer sees it (``ProviderHub.save_settings``
in a plugin's tests, ``str(exc)``). It said only "some settings are not valid", the fields in a
chained exception. A secret typed in never appears in the message, even where a validator's
message quotes the value."""

import pytest
from marshmallow import Schema, fields, validate

from hub import hookimpl, services
from hub.entities import ASSESSMENT, IntegrationSpec
from hub.errors import ValidationFailed
from hub.extensions import db
from hub.runtime import get_runtime
from hub.testing import make_test_app

SECRET = "quizly-live-key-0123"


class QuizlySettings(Schema):
    account_id = fields.String(required=True)
    region = fields.String(load_default="eu", validate=validate.OneOf(["eu", "us"]))
    # a validator quoting the value it refuses, as a plugin's may
    api_key = fields.String(required=True, validate=validate.Length(min=40, error="{input} is too short"))
    webhook_secret = fields.String(load_default=None, allow_none=True,
                                   validate=validate.Length(max=5, error="At most {max} characters."))


class Quizly:
    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Quizly", settings_schema=QuizlySettings,
                                 secret_fields=("api_key", "webhook_secret")))


@pytest.fixture
def app(tmp_path):
    return make_test_app(tmp_path, {"PLUGINS": "quizly"}, plugins=[("quizly", Quizly())], entry_points=False)


def _refusal(app, form) -> ValidationFailed:
    with app.app_context():
        with pytest.raises(ValidationFailed) as refused:
            services.save_settings(get_runtime(), 1, "quizly", form, "test")
        db.session.rollback()
    return refused.value


def test_the_message_names_each_invalid_field_and_why(app):
    refused = _refusal(app, {"region": "mars", "api_key": "k" * 40})
    expected = ("some settings are not valid: account_id: Missing data for required field.; "
                "region: Must be one of: eu, us.")
    assert refused.message == expected and str(refused) == expected
    assert refused.fields == {"account_id": ["Missing data for required field."], "region": ["Must be one of: eu, us."]}
    assert refused.to_dict()["error"]["message"] == expected


def test_a_secret_typed_in_never_appears_in_the_message(app):
    refused = _refusal(app, {"account_id": "acme", "api_key": SECRET, "webhook_secret": "whsec-long"})
    assert SECRET not in refused.message and "whsec-long" not in refused.message
    assert refused.message == ("some settings are not valid: api_key: not valid (its message is left out: it may "
                               "quote a secret); webhook_secret: At most 5 characters.")


def test_an_error_of_the_whole_is_said_in_its_own_words():
    refused = ValidationFailed.naming_fields("some settings are not valid",
                                             {"_schema": ["Give an API key or sign in with OAuth."]})
    assert refused.message == "some settings are not valid: Give an API key or sign in with OAuth."
