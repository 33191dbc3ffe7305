"""A workspace has one source (ATS) at a time: enabling a second one is refused with a message
naming the enabled one, on the page, in the API and in the CLI."""

from __future__ import annotations

from hub import services
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import SUPER_ADMIN
from tests.test_hooks import OtherSource, Source
from tests.web.support import PASSWORD, sign_in

REFUSAL = ("Source is this workspace's ATS: disable Source before enabling Other ATS (a workspace reads postings, "
           "stages and candidates from one ATS)")


def _app(make_app):
    app = make_app(plugins=[("source", Source()), ("other", OtherSource())], entry_points=False)
    with app.app_context():
        user, _ = services.create_user(1, "boss@acme.test", SUPER_ADMIN, password=PASSWORD)
        token = services.create_api_token(user, "script")
        services.set_enabled(get_runtime(), 1, "source", True, "test")
        db.session.commit()
    return app, token


def _enabled(app) -> dict[str, bool]:
    with app.app_context():
        return {name: bool(row and row.enabled) for name in ("source", "other")
                for row in [get_runtime().integration(1, name)]}


def test_the_api_refuses_a_second_source_with_409(make_app):
    app, token = _app(make_app)
    response = app.test_client().post("/api/v1/integrations/other/enable", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 409
    assert response.get_json()["error"] == {"code": "conflict", "message": REFUSAL}
    assert _enabled(app) == {"source": True, "other": False}


def test_the_page_refuses_a_second_source_with_the_reason(make_app):
    app, _ = _app(make_app)
    client = app.test_client()
    sign_in(client, "boss@acme.test")
    page = client.post("/integrations/other/enable", follow_redirects=True)
    assert page.status_code == 200
    assert REFUSAL.replace("'", "&#39;") in page.get_data(as_text=True)
    assert _enabled(app) == {"source": True, "other": False}


def test_the_cli_refuses_a_second_source_with_the_reason(make_app):
    app, _ = _app(make_app)
    result = app.test_cli_runner().invoke(args=["plugins", "enable", "other"])
    assert result.exit_code != 0
    assert REFUSAL in result.output
    assert _enabled(app) == {"source": True, "other": False}
