"""What the source says of a candidate (re-read, never from a webhook) is stored with the
invitation; a value longer than its column must not make the invitation impossible (PostgreSQL
refuses it, and the delivery would be retried until dead with nobody invited)."""

import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Invitation
from hub.testing import run_deliveries


def test_a_candidate_with_oversized_values_is_invited_with_what_fits(hub):
    long_name = "Ada " + "L" * 600
    hub.candidate(name=long_name, profile_url="https://ats.example/" + "p" * 2100)
    hub.move()
    run_deliveries(hub.app)
    (invitation,) = hub.invitations()
    assert invitation.candidate_name == long_name[:500]  # cut: still names the candidate
    assert db.session.scalar(sa.select(Invitation.profile_url)) is None  # cut, it would point elsewhere
    db.session.rollback()
    # Canditech refuses a name this long: the invitation fails with its reason, shown to admins
    assert invitation.status == "failed" and "name" in invitation.failure_reason, invitation.failure_reason
    assert "dead" not in hub.deliveries()


def test_a_candidate_whose_email_does_not_fit_gets_a_failed_invitation_that_says_why(hub):
    hub.candidate(email="a" * 400 + "@example.com")
    hub.move()
    run_deliveries(hub.app)
    (invitation,) = hub.invitations()
    assert invitation.candidate_email is None
    assert invitation.status == "failed" and invitation.failure_reason
    assert "dead" not in hub.deliveries()
