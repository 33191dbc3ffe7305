"""Canditech revoked with an invitation still waiting to be sent, then enabled again before its API
key is entered again, and "Replay all cancelled" pressed (the flash after Enable, the Dashboard and
Activity all offer it): the replayed invitation ran with no key, failed on authentication and ended
dead, the connection "needs re-authorization". A replay must wait for the credentials: it is
refused with what to do, the delivery stays cancelled, and once the key is entered the replay
invites the candidate once (README.md, Guarantees, 2 and 4; DESIGN.md, 8)."""

from __future__ import annotations

import pytest

from hub import services
from hub.errors import Conflict
from hub.store.models import D_CANCELLED

from .conftest import SANDBOX_KEY

NOT_CONNECTED = ("Canditech is not connected: enter Canditech's API key in the settings and save, then replay its "
                 "deliveries")


def _cancelled_by_a_revoke(hub) -> int:
    """Canditech fails while the candidate enters the stage (the invitation's delivery waits to
    retry), then a Super Admin revokes Canditech (it is cancelled) and enables it again without
    entering the API key (what the revoked page's "enable Canditech, then ..." starts with)."""
    hub.sandbox.faults(error_rate=1.0, error_codes=[500])
    try:
        hub.move()
    finally:
        hub.sandbox.faults()
    (waiting,) = hub.delivery_list()
    assert waiting.status == "retry", waiting
    services.revoke(hub.runtime, 1, "canditech", "admin@example.com")
    services.set_enabled(hub.runtime, 1, "canditech", True, "admin@example.com")
    assert hub.delivery_list()[0].status == D_CANCELLED
    assert not services.connection_state(1, "canditech").credentials_present
    return waiting.id


def test_replay_all_cancelled_before_the_key_is_entered_again_skips_them_with_what_to_do(hub):
    delivery_id = _cancelled_by_a_revoke(hub)
    result = services.replay_all(hub.runtime, 1, D_CANCELLED, "admin@example.com")
    assert result.replayed == [] and result.skipped == [(delivery_id, NOT_CONNECTED)]
    (row,) = hub.delivery_list()
    assert (row.status, row.attempts) == (D_CANCELLED, 1), row  # not dead, no attempt spent
    assert hub.runtime.integration(1, "canditech").status == "enabled"  # not "needs re-authorization"
    assert hub.sandbox.invitations() == []

    # the key entered again: the same replay invites the candidate, once
    services.save_settings(hub.runtime, 1, "canditech", {"api_key": SANDBOX_KEY}, "admin@example.com")
    result = services.replay_all(hub.runtime, 1, D_CANCELLED, "admin@example.com")
    assert result.replayed == [delivery_id] and result.skipped == []
    assert [(d.id, d.status) for d in hub.delivery_list()][0] == (delivery_id, "done"), hub.delivery_list()
    assert "dead" not in hub.deliveries(), hub.delivery_list()
    assert hub.invitation().status == "invited" and len(hub.sandbox.invitations()) == 1


def test_replaying_one_cancelled_delivery_before_the_key_is_entered_again_is_refused(hub):
    delivery_id = _cancelled_by_a_revoke(hub)
    with pytest.raises(Conflict) as refused:
        services.replay_delivery(hub.runtime, 1, delivery_id, "admin@example.com")
    assert refused.value.message == NOT_CONNECTED
    (row,) = hub.delivery_list()
    assert row.status == D_CANCELLED, row
    assert hub.sandbox.invitations() == []
