"""``webhooks.learn_provider_id`` keeps Vervoe's uuid only on a row still ``pending``: a report of a
row that has already moved on without one (stored before the hub kept it from reports, say) must not
cost a ``GET .../candidateUrl`` inside Vervoe's webhook request for a value then thrown away (the
request's rate budget and up to 2 s of a request thread, on every report and every retry of it),
as Canditech's webhook checks the status before learning (late-review)."""

from __future__ import annotations

import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Invitation

from .conftest import BACKEND_ANSWERS

CANDIDATE_URL = "/candidateUrl"


def _candidate_url_reads(api_exchanges) -> int:
    return sum(1 for e in api_exchanges.exchanges if e.method == "GET" and e.url.split("?")[0].endswith(CANDIDATE_URL))


def test_a_report_of_a_started_row_without_vervoes_uuid_reads_no_login_link(hub, api_exchanges):
    hub.move()
    inv = hub.invitation()
    uuid = inv.provider_invitation_id
    assert inv.status == "invited" and uuid
    hub.sandbox.act(uuid, "start")
    hub.sandbox.quiet()
    assert hub.invitation().status == "started"
    # a row moved on before the hub kept the uuid from reports: no Vervoe id, its link in place
    db.session.execute(sa.update(Invitation).where(Invitation.id == inv.id).values(provider_invitation_id=None))
    db.session.commit()
    before = _candidate_url_reads(api_exchanges)

    hub.sandbox.act(uuid, "complete", answers=BACKEND_ANSWERS)
    hub.sandbox.quiet()
    hub.wait_for(lambda: hub.invitation().status == "completed", what="the completion")

    assert _candidate_url_reads(api_exchanges) == before  # nothing read that could not be kept
    assert hub.invitation().provider_invitation_id is None


def test_the_uuid_is_kept_when_the_login_link_waits_for_another_workers_token_refresh(hub, monkeypatch):
    """The login link's read is the only Vervoe call of such a report: when it cannot have a token
    (another worker's refresh holds the token lock: ``Deferred``), the uuid is kept alone and the
    report taken, as for any other failure of that read, not refused with 503 on every retry."""
    from plugins.vervoe import auth

    hub.move()
    inv = hub.invitation()
    uuid = inv.provider_invitation_id
    hub.cancel(inv.id)
    hub.sandbox.quiet()
    hub.sandbox.faults(error_rate=1.0, error_codes=[503], fault_after_processing=True)
    hub.reinvite(inv.id)  # the reset lands at Vervoe; its answer is lost
    hub.sandbox.faults()
    assert (hub.invitation().status, hub.invitation().provider_invitation_id) == ("pending", None)

    monkeypatch.setattr(auth, "LOCK_WAIT", 0.0)
    monkeypatch.setattr(auth, "cached_token", lambda *args, **kwargs: None)  # the token must be fetched again
    ctx = hub.ctx()
    with ctx.lock(auth.LOCK, ttl=60.0, wait=0):  # another worker is fetching it
        hub.sandbox.act(uuid, "start")
        hub.sandbox.quiet()
        inv = hub.invitation()
    assert (inv.status, inv.provider_invitation_id, inv.invite_url) == ("started", uuid, None)
