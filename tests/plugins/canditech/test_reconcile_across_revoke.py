"""Canditech revoked while a reconciliation reads it: the run (up to 200 seconds of reads, with the
API key its context read when it started) calls Canditech no more, and the result it had found is
not recorded or written to the ATS: a webhook Canditech sends after the revoke is refused, and the
same news found by reading is no different (DESIGN.md, 8; README.md, What it does, 5)."""

import sqlalchemy as sa

import plugins.canditech.reconciliation as reconciliation
from hub import services
from hub.engine.sweeper import reconcile_all
from hub.extensions import db
from hub.store.models import Event

from .conftest import PYTHON_ANSWERS, invited


def test_a_revoke_stops_a_reconciliation_in_flight_and_keeps_nothing_it_found(hub, monkeypatch):
    hub.sandbox.faults(webhook_drop_rate=1.0, webhook_drop_forever=True)
    inv, remote = invited(hub)
    hub.sandbox.complete(remote["id"], PYTHON_ANSWERS)  # its webhook is lost: reconciliation finds it
    hub.sandbox.quiet()
    read, calls = reconciliation.Run.read, {}

    def revoked_before_the_read(self, provider_id, hub_id):
        if not calls:  # a Super Admin revokes Canditech while the run is under way
            services.revoke(hub.runtime, 1, "canditech", "admin@example.com")
            calls["at_revoke"] = hub.sandbox.api_calls()
        return read(self, provider_id, hub_id)

    monkeypatch.setattr(reconciliation.Run, "read", revoked_before_the_read)
    events = db.session.scalar(sa.select(sa.func.count(Event.id)))
    assert reconcile_all(hub.runtime) == 0
    assert hub.sandbox.api_calls() == calls["at_revoke"]  # nothing with the forgotten API key
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == events
    assert hub.invitation().status == "invited" and hub.source.results == []
    assert hub.runtime.integration(1, "canditech").status == "revoked"
