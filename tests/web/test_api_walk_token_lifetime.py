"""How long an API token works (found walking the API as a customer's script, looking for what an
expired token answers): a token has no expiry date. It works until it is revoked or its user (or,
for a token acting as someone else, its issuer) is deactivated, however old it is or however long
it went unused; the API guide says so, and how to replace one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from hub.extensions import db
from hub.services import hash_token
from hub.store.models import ApiToken, utcnow
from tests.web.support import api_headers

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()


def test_an_old_token_unused_for_years_still_works(hub_app, seeded):
    headers = api_headers(seeded, "admin")
    token = headers["Authorization"].removeprefix("Bearer ")
    long_ago = utcnow() - timedelta(days=5 * 365)
    with hub_app.app_context():
        db.session.execute(sa.update(ApiToken).where(ApiToken.token_hash == hash_token(token))
                           .values(created_at=long_ago, last_used_at=long_ago))
        db.session.commit()
    assert hub_app.test_client().get("/api/v1/me", headers=headers).status_code == 200


def test_the_guide_says_a_token_does_not_expire_and_how_to_replace_one():
    getting = GUIDE[GUIDE.index("\n## Getting a token\n"):GUIDE.index("\n## Authenticating\n")]
    text = " ".join(getting.split())
    assert "A token does not expire" in text
    assert "Last used" in text  # where to see which tokens are still in use
