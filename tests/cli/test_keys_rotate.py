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


class KeyedRecorder:
    """An assessment plugin whose every call reads its stored secret."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind="assessment", title="Keyed", settings_schema=Settings, secret_fields=("api_key",)))

    @hookimpl
    def test_connection(self, ctx):
        return f"connected with {ctx.secrets['api_key'][:6]}"

    @hookimpl
    def on_stage_change(self, ctx, change):
        self.seen.append(ctx.secrets["api_key"])

    @hookimpl
    def verify_webhook(self, ctx, request):
        from hub.entities import WebhookResult

        assert ctx.secrets["api_key"]  # as a plugin checks a signature with its stored secret
        return WebhookResult(ping=True)


def test_a_process_left_with_the_old_key_after_a_rotation_says_so_and_loses_no_delivery(make_app, capsys):
    """An operator's walk-through: a process started with the old key only after `hub keys rotate`
    answered /readyz "ready", its worker started silently and spent a delivery's attempts in
    seconds, and the API said "Canditech failed: ..." (502 vendor_error), blaming the vendor; a
    webhook it could not verify was a 500 "the plugin failed" (a review). It must not take itself
    out of service either: with a key lost everywhere, no process would be left to revoke from."""
    import sqlalchemy as sa

    from hub.cli.serve import require_tables
    from hub.engine.runner import run_delivery
    from hub.extensions import db
    from hub.store.models import Delivery, WebhookLog
    from hub.web.live import LiveError, call_plugin
    from tests.support.engine import enable, one_delivery
    from tests.support.plugins import FakeSource

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    plugins = [("src", FakeSource()), ("keyed", KeyedRecorder())]
    first = make_app({"ENCRYPTION_KEYS": old}, plugins=plugins, entry_points=False)
    keys = enable(first, "src", "keyed")
    with first.app_context():
        services.save_settings(get_runtime(), 1, "keyed", {"api_key": "rotate-me-please"}, "test")
    both = make_app({"ENCRYPTION_KEYS": f"{new},{old}"}, plugins=plugins, entry_points=False)
    assert both.test_cli_runner().invoke(args=["keys", "rotate"]).exit_code == 0

    stale = make_app({"ENCRYPTION_KEYS": old}, plugins=plugins, entry_points=False)
    ready = stale.test_client().get("/readyz")
    assert ready.status_code == 200 and ready.json["status"] == "degraded"
    assert ready.json["checks"]["secrets"].startswith(
        "this hub process cannot decrypt the stored secrets with its HUB_ENCRYPTION_KEYS: restart it with the key "
        "list the other hub processes have")
    refused = stale.test_client().post(f"/webhooks/keyed/{keys['keyed']}", data=b"{}")
    assert refused.status_code == 503 and "cannot read the stored secrets" in refused.json["error"]["message"]
    with stale.app_context():
        line = db.session.scalar(sa.select(WebhookLog).where(WebhookLog.plugin == "keyed"))
        assert (line.outcome, line.status_code) == ("rejected", 503)
        assert line.message.startswith("not verified: this hub process cannot decrypt the stored secrets")
    with stale.test_request_context():
        try:
            call_plugin(1, "keyed", "test_connection")
            raise AssertionError("the test ran with secrets this process cannot read")
        except LiveError as exc:
            assert (exc.status, exc.code) == (503, "secrets_unreadable") and "Keyed failed" not in exc.message
    with stale.app_context():
        delivery_id = one_delivery(stale, keys["src"])
        run_delivery(get_runtime(), delivery_id)
        row = db.session.get(Delivery, delivery_id)
        assert row.status == "retry" and row.attempts == 0, (row.status, row.attempts, row.last_error)
        assert row.last_error.startswith("deferred: this hub process cannot decrypt the stored secrets")
    capsys.readouterr()
    with stale.app_context():  # a worker (or hub run) starting with those keys says so, and starts
        require_tables()
    assert capsys.readouterr().err.startswith("Warning: this hub process cannot decrypt the stored secrets")

    with both.app_context():  # a process with the current keys runs the delivery as usual
        db.session.execute(sa.update(Delivery).values(next_attempt_at=Delivery.created_at))
        db.session.commit()
        run_delivery(get_runtime(), delivery_id)
        assert db.session.get(Delivery, delivery_id).status == "done"
    assert both.test_client().get("/readyz").json["checks"]["secrets"] == "ok"


def test_a_secret_written_while_the_rotation_runs_is_not_overwritten(make_app, monkeypatch):
    """A token refresh that committed between the rotation's read and its commit was overwritten by
    the old secrets re-encrypted (PostgreSQL; SQLite's writers already queued): the next call used a
    refresh token the vendor had already replaced."""
    import threading

    import sqlalchemy as sa

    from hub.extensions import db
    from hub.store.models import Integration

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    app = make_app({"ENCRYPTION_KEYS": old}, plugins=[("keyed", Plugin())], entry_points=False)
    with app.app_context():
        services.save_settings(get_runtime(), 1, "keyed", {"api_key": "before-the-refresh"}, "test")
    both = make_app({"ENCRYPTION_KEYS": f"{new},{old}"}, plugins=[("keyed", Plugin())], entry_points=False)
    box = get_runtime(both).secret_box

    def refresh() -> None:  # as a worker's token refresh writes: its own transaction, the row locked
        with both.app_context():
            row = db.session.scalar(sa.select(Integration).where(Integration.plugin == "keyed").with_for_update())
            row.secrets_encrypted = box.encrypt({"api_key": "after-the-refresh"})
            db.session.commit()

    writer = threading.Thread(target=refresh)
    rotate = box.rotate

    def rotate_while_a_refresh_writes(token):
        writer.start()
        writer.join(timeout=1.0)  # it commits at once unless the rotation holds the row
        return rotate(token)

    monkeypatch.setattr(box, "rotate", rotate_while_a_refresh_writes)
    result = both.test_cli_runner().invoke(args=["keys", "rotate"])
    writer.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert not writer.is_alive()
    with both.app_context():
        assert get_runtime().context(1, "keyed").secrets == {"api_key": "after-the-refresh"}
