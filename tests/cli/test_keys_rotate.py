"""Key rotation without downtime: with the new key first and the old one still listed, everything
keeps working; `hub keys rotate` re-encrypts every secret; then the old key can be dropped."""

from cryptography.fernet import Fernet
from marshmallow import Schema, fields

from hub import hookimpl, services
from hub.entities import IntegrationSpec
from hub.runtime import get_runtime


class Settings(Schema):
    api_key = fields.Str(required=True)


class Plugin:
    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind="assessment", title="Keyed", settings_schema=Settings, secret_fields=("api_key",)))


def test_rotation(make_app):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    app = make_app({"ENCRYPTION_KEYS": old}, plugins=[("keyed", Plugin())], entry_points=False)
    with app.app_context():
        services.save_settings(get_runtime(), 1, "keyed", {"api_key": "rotate-me-please"}, "test")
    both = make_app({"ENCRYPTION_KEYS": f"{new},{old}"}, plugins=[("keyed", Plugin())], entry_points=False)
    with both.app_context():
        assert get_runtime().context(1, "keyed").secrets == {"api_key": "rotate-me-please"}  # no downtime
    result = both.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0 and "re-encrypted the secrets of 1 integration(s)" in result.output
    only_new = make_app({"ENCRYPTION_KEYS": new}, plugins=[("keyed", Plugin())], entry_points=False)
    with only_new.app_context():
        assert get_runtime().context(1, "keyed").secrets == {"api_key": "rotate-me-please"}


def test_rotating_without_the_old_key_says_to_keep_it_and_changes_nothing(make_app):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    app = make_app({"ENCRYPTION_KEYS": old}, plugins=[("keyed", Plugin())], entry_points=False)
    with app.app_context():
        services.save_settings(get_runtime(), 1, "keyed", {"api_key": "rotate-me-please"}, "test")
    only_new = make_app({"ENCRYPTION_KEYS": new}, plugins=[("keyed", Plugin())], entry_points=False)
    result = only_new.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 1
    assert result.output == ("Error: stored secrets cannot be decrypted with HUB_ENCRYPTION_KEYS: keep the old key "
                             "after the new one (HUB_ENCRYPTION_KEYS=new,old) until `hub keys rotate` is done "
                             "(the secrets of keyed in workspace 1); nothing was re-encrypted\n")
    again = make_app({"ENCRYPTION_KEYS": old}, plugins=[("keyed", Plugin())], entry_points=False)
    with again.app_context():
        assert get_runtime().context(1, "keyed").secrets == {"api_key": "rotate-me-please"}
