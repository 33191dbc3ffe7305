"""A token acting as someone else works only while its issuer is an active Super Admin
(``ApiToken.suspended``): the API tokens page says so (found by a review; failed before its fix)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests.web.support import FakeAssess, FakeSource, make_user, seed, sign_in


def test_the_tokens_page_does_not_call_active_a_token_its_demoted_issuer_made(make_app):
    """Once its issuer is demoted, a token acting as someone else answers 401 (docs/api.md,
    docs/permissions.md), yet the API tokens page still shows it "Active", with no word of its
    issuer: the Super Admin reading the page cannot tell which scripts stopped, nor why."""
    from hub import services
    from hub.extensions import db
    from hub.store.models import ApiToken, User

    app = make_app(plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    seeded = seed(app)
    with app.app_context():
        issuer = make_user(seeded.workspace_id, "second_super@acme.test", "super_admin")
        db.session.commit()
        token = services.create_api_token(db.session.get(User, seeded.users["super_admin"]), "reporting",
                                          issuer=issuer)
        token_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.name == "reporting"))
        services.set_role(db.session.get(User, issuer.id), "team_member", "test")
    client = app.test_client()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert sign_in(client, "super_admin@acme.test").status_code == 302
    page = client.get("/settings/api-tokens").get_data(as_text=True)
    row = re.search(rf'<tr id="token-{token_id}">(.*?)</tr>', page, re.S).group(1)
    assert "Active" not in row, row
    assert "Suspended" in row and "Created by second_super@acme.test, who is no longer an active Super Admin" in row
