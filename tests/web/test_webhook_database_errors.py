"""A database error on the webhook path that is not an outage (PostgreSQL's "relation does not
exist" in a database not migrated yet is a ``ProgrammingError``, not an ``OperationalError``)
still answers 503, so the sender retries; and no failed statement's error quotes its parameters,
which can be a webhook URL's key."""

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.web import webhooks

KEY = "SecretWebhookKey123"


def test_a_failed_statement_does_not_quote_its_parameters(make_app):
    app = make_app()
    with app.app_context():
        with pytest.raises(sa.exc.DBAPIError) as info:
            db.session.execute(sa.text("SELECT id FROM no_such_table WHERE webhook_key = :key"), {"key": KEY})
        db.session.rollback()
    assert "no_such_table" in str(info.value) and KEY not in str(info.value)


def test_a_database_error_that_is_not_an_outage_answers_webhooks_503(make_app, monkeypatch):
    app = make_app()

    def relation_missing(runtime, plugin, key, fresh):
        raise sa.exc.ProgrammingError("SELECT ... FROM integrations", None,
                                      Exception('relation "integrations" does not exist'))

    monkeypatch.setattr(webhooks, "_integration", relation_missing)
    answer = app.test_client().post(f"/webhooks/lever/{KEY}", data=b"{}", content_type="application/json")
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.json["error"] == {"code": "unavailable",
                                    "message": "the hub cannot store webhooks right now; send it again later"}


def test_the_same_error_elsewhere_is_still_a_plain_500(make_app):
    app = make_app()

    def broken():
        raise sa.exc.ProgrammingError("SELECT 1", None, Exception("a bug"))

    app.add_url_rule("/api/v1/test-broken", "test_broken", broken)
    answer = app.test_client().get("/api/v1/test-broken")
    assert answer.status_code == 500
    assert answer.json["error"]["code"] == "internal_error" and "a bug" not in answer.get_data(as_text=True)


def _verifying_against_a_broken_table(make_app):
    """An app whose source plugin ``src`` meets a database error while it verifies a webhook; its
    webhook URL's key."""
    from hub import hookimpl
    from tests.support.engine import enable
    from tests.support.plugins import FakeSource

    class VerifiesAgainstABrokenTable(FakeSource):
        @hookimpl
        def verify_webhook(self, ctx, request):
            raise sa.exc.ProgrammingError("SELECT ...", None, Exception('relation "x" does not exist'))

    app = make_app(plugins=[("src", VerifiesAgainstABrokenTable())], entry_points=False)
    return app, enable(app, "src")["src"]


def test_a_database_error_under_a_plugins_verification_is_logged_as_the_503_it_answers(make_app):
    """The webhook log recorded a 500 "the plugin failed" while the sender was answered 503."""
    from hub.store.models import WebhookLog

    app, key = _verifying_against_a_broken_table(make_app)
    answer = app.test_client().post(f"/webhooks/src/{key}", data=b'{"id": "e1"}')
    assert answer.status_code == 503
    with app.app_context():
        (row,) = db.session.execute(sa.select(WebhookLog.outcome, WebhookLog.status_code, WebhookLog.message)).all()
    assert row.outcome == "rejected" and row.status_code == 503
    assert row.message == ("the hub's database failed while the plugin verified the webhook: ProgrammingError "
                           "(the hub's log has the details)")


def _counted(app) -> str:
    return "\n".join(line for line in app.test_client().get("/metrics").get_data(as_text=True).splitlines()
                     if line.startswith("hub_webhooks_received_total{"))


def test_a_webhook_the_hub_could_not_store_is_counted_unavailable(make_app, monkeypatch):
    """A 503 on the webhook path was in no figure of /metrics: an operator could not alert on it."""
    from tests.support.engine import enable
    from tests.support.plugins import FakeSource

    app = make_app(plugins=[("src", FakeSource())], entry_points=False)
    keys = enable(app, "src")

    def database_away(runtime, record):
        raise sa.exc.OperationalError("INSERT ...", None, Exception("connection refused"))

    monkeypatch.setattr(webhooks, "_store", database_away)
    client = app.test_client()
    assert client.post(f"/webhooks/src/{keys['src']}", data=b'{"id": "e1"}').status_code == 503
    assert 'hub_webhooks_received_total{outcome="unavailable",reason="database",source="src"} 1.0' in _counted(app)

    def too_slow(runtime, record):
        raise webhooks.ServiceUnavailable("the hub could not store this webhook in time (timeout); send it again")

    monkeypatch.setattr(webhooks, "_store", too_slow)
    assert client.post(f"/webhooks/src/{keys['src']}", data=b'{"id": "e2"}').status_code == 503
    assert 'hub_webhooks_received_total{outcome="unavailable",reason="busy",source="src"} 1.0' in _counted(app)


def test_a_rejection_logged_before_the_database_failed_is_counted_once(make_app):
    app, key = _verifying_against_a_broken_table(make_app)
    assert app.test_client().post(f"/webhooks/src/{key}", data=b'{"id": "e1"}').status_code == 503
    assert _counted(app) == 'hub_webhooks_received_total{outcome="rejected",reason="database",source="src"} 1.0'
