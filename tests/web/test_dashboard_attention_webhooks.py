"""An ATS connected but without its webhooks registered receives no stage change, so nobody is
invited; its integration page offered "Register webhooks in <ATS>" while the Dashboard's "Needs
attention" said nothing (a walk-through). It is named there now, from the same decision as the
integration page's (``queries.webhooks_to_register``), for those who may see the integrations."""

from __future__ import annotations

import re
from html import unescape

from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import utcnow


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html))).strip()


def _item(html: str) -> str | None:
    match = re.search(r'<p id="unregistered-fakesource">(.*?)</p>', html, re.S)
    return match.group(1) if match else None


def _set(hub_app, **values) -> None:
    with hub_app.app_context():
        row = get_runtime().integration(1, "fakesource")
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()


def test_a_connected_ats_without_webhooks_needs_attention(hub_app, seeded, as_role):
    owner = as_role("super_admin")
    # not tested yet: the integration page's next step is testing the connection, not the webhooks
    assert _item(owner.get("/").get_data(as_text=True)) is None
    _set(hub_app, status="connected")
    assert 'id="register-webhooks"' in owner.get("/integrations/fakesource").get_data(as_text=True)

    html = owner.get("/").get_data(as_text=True)
    item = _item(html)
    assert item is not None and 'id="attention-webhooks"' in html
    assert _text(item) == ("Fake ATS has no webhooks registered: no stage change reaches the hub, so nobody is "
                           "invited. Open Fake ATS in Integrations and press Register webhooks in Fake ATS.")
    assert 'href="/integrations/fakesource#webhooks-card"' in item

    admin = _text(_item(as_role("admin").get("/").get_data(as_text=True)))
    assert admin.endswith("nobody is invited. A Super Admin registers them on Fake ATS's page in Integrations.")
    for role in ("team_member", "limited_team_member"):
        assert 'id="attention-webhooks"' not in as_role(role).get("/").get_data(as_text=True)

    # disabled, it is named once, as the ATS missing, not also for its webhooks
    _set(hub_app, enabled=False)
    html = owner.get("/").get_data(as_text=True)
    assert 'id="attention-webhooks"' not in html and 'id="attention-no-source"' in html

    # set up by hand and arriving (verified): its page offers no registration, nor does the Dashboard
    _set(hub_app, enabled=True, verified_at=utcnow(), last_webhook_at=utcnow())
    assert 'id="register-webhooks"' not in owner.get("/integrations/fakesource").get_data(as_text=True)
    assert 'id="attention-webhooks"' not in owner.get("/").get_data(as_text=True)
