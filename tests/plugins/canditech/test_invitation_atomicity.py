"""An invitation's change and the event announcing it commit together (README.md, Guarantees, 1):
a database failure between them must not keep the change and lose the event, which would leave
the provider or the source never told and the action impossible to repeat."""

import pytest
import sqlalchemy as sa

import hub.engine.ingest as ingest_module
from hub import services
from hub.extensions import db
from hub.testing import run_deliveries

from .test_hooks import invited


def fail_the_next_hub_event(monkeypatch) -> dict:
    """The next event the hub ingests about its own changes fails as if the database had gone."""
    real = ingest_module.ingest
    state = {"failed": False}

    def flaky(runtime, workspace_id, source_plugin, inbound, **kwargs):
        if source_plugin == "hub" and not state["failed"]:
            state["failed"] = True
            raise sa.exc.OperationalError("INSERT INTO event_keys", {}, Exception("server closed the connection"))
        return real(runtime, workspace_id, source_plugin, inbound, **kwargs)

    monkeypatch.setattr(ingest_module, "ingest", flaky)
    return state


def end_of_request() -> None:
    """What the end of the failed request does to its session."""
    db.session.rollback()


def test_a_cancel_that_failed_left_nothing_and_can_be_repeated(hub, monkeypatch):
    invitation, _ = invited(hub)
    state = fail_the_next_hub_event(monkeypatch)
    with pytest.raises(sa.exc.OperationalError):  # the admin sees 503 and tries again
        services.cancel_invitation(hub.runtime, 1, invitation.id, "admin@example.com")
    end_of_request()
    assert state["failed"] and hub.invitation().status == "invited"  # not cancelled without its event
    services.cancel_invitation(hub.runtime, 1, invitation.id, "admin@example.com")
    hub.sandbox.quiet()
    assert hub.invitation().status == "cancelled"
    assert hub.sandbox.invitations()[0]["status"] == "cancelled"  # withdrawn at Canditech


def test_a_reinvite_that_failed_left_nothing_and_can_be_repeated(hub, monkeypatch):
    invitation, _ = invited(hub)
    services.cancel_invitation(hub.runtime, 1, invitation.id, "admin@example.com")
    fail_the_next_hub_event(monkeypatch)
    with pytest.raises(sa.exc.OperationalError):
        services.reinvite_invitation(hub.runtime, 1, invitation.id, "admin@example.com")
    end_of_request()
    assert (hub.invitation().status, hub.invitation().round) == ("cancelled", 1)  # not pending without its event
    services.reinvite_invitation(hub.runtime, 1, invitation.id, "admin@example.com")
    assert (hub.invitation().status, hub.invitation().round) == ("invited", 2)


def test_an_invitation_whose_status_event_failed_is_invited_and_announced_on_retry(hub, monkeypatch):
    state = fail_the_next_hub_event(monkeypatch)
    hub.move()  # the delivery invites at Canditech; recording "invited" with its event fails once
    run_deliveries(hub.app)  # the retry finds the invitation at Canditech and records it
    assert state["failed"]
    assert hub.invitation().status == "invited"
    assert [s.status for s in hub.source.statuses] == ["invited"]  # the source heard it once
    assert len(hub.sandbox.invitations()) == 1  # invited once
