"""An email of the longest length the hub accepts (320 characters, ``services.MAX_EMAIL``) works
everywhere a user is managed, and the audit log names the user in full. On PostgreSQL, which
enforces column lengths, the audit entry's target once did not fit ("user:" + the email)."""

from __future__ import annotations

import sqlalchemy as sa

from hub import services
from hub.extensions import db
from hub.store.models import AuditEntry, User
from tests.web.support import api_headers

# 64 + 1 + 4 x 61 - 1 + 5 = 313 characters: a valid address, longer than the old 300-character target
LONG_EMAIL = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".test"


def audit_targets(app, action: str) -> list[str]:
    with app.app_context():
        targets = list(db.session.scalars(sa.select(AuditEntry.target).where(AuditEntry.action == action)))
        db.session.rollback()
        return targets


def user_exists(app, email: str) -> bool:
    with app.app_context():
        found = db.session.scalar(sa.select(User.id).where(User.email == email)) is not None
        db.session.rollback()
        return found


def test_the_longest_emails_fit_the_audit_log():
    assert len("user:") + services.MAX_EMAIL <= AuditEntry.__table__.c.target.type.length
    assert 300 < len(LONG_EMAIL) <= services.MAX_EMAIL


def test_a_user_with_a_long_email_is_created_on_the_page(hub_app, seeded, as_role):
    response = as_role("super_admin").post("/users", data={"email": LONG_EMAIL, "name": "", "role": "team_member"})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    assert user_exists(hub_app, LONG_EMAIL)
    assert f"user:{LONG_EMAIL}" in audit_targets(hub_app, "user.create")


def test_a_user_with_a_long_email_is_created_through_the_api(hub_app, seeded):
    response = hub_app.test_client().post("/api/v1/users", json={"email": LONG_EMAIL, "role": "team_member"},
                                          headers=api_headers(seeded, "super_admin"))
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert f"user:{LONG_EMAIL}" in audit_targets(hub_app, "user.create")


def test_a_user_with_a_long_email_is_created_changed_and_deactivated_from_the_cli(hub_app, seeded):
    runner = hub_app.test_cli_runner()
    created = runner.invoke(args=["users", "create", LONG_EMAIL])
    assert created.exit_code == 0, created.output
    with hub_app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == LONG_EMAIL))
        services.set_role(user, "admin", "cli")
        services.set_active(user, False, "cli")
    for action in ("user.create", "user.role", "user.deactivate"):
        assert f"user:{LONG_EMAIL}" in audit_targets(hub_app, action), action
