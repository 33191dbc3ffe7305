"""With the ATS disabled, revoked or never connected while assessments are attached, Pipeline says in
one banner that those attachments invite nobody (no stage change reaches the hub), with the way to
the ATS's integration page."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Attachment, Integration
from hub.store.models import utcnow


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def _banner(html: str) -> str:
    found = re.findall(r'<div class="alert [^"]*"[^>]*id="no-source"[^>]*>(.*?)</div>', html, re.S)
    assert len(found) == 1, found
    return found[0]


TAIL = (": no candidate's stage change reaches the hub, so the attachments below invite nobody, and there are no "
        "postings or stages to attach to.")


@pytest.mark.parametrize("how, why, step", [("disable", "is disabled", "enable it"),
                                            ("revoke", "has its access revoked", "connect it again")])
def test_the_ats_idle_with_attachments_is_one_banner_naming_it(hub_app, seeded, as_role, how, why, step):
    owner = as_role("super_admin")
    assert 'id="no-source"' not in owner.get("/pipeline").get_data(as_text=True)
    owner.post(f"/integrations/fakesource/{how}")
    html = owner.get("/pipeline").get_data(as_text=True)
    banner = _banner(html)
    assert _text(banner) == f"Fake ATS, your ATS, {why}{TAIL} {step[:1].upper()}{step[1:]} in Integrations."
    assert 'href="/integrations/fakesource"' in banner
    assert "there are no postings or stages to attach to" not in _text(html).replace(_text(banner), "")
    admin = _banner(as_role("admin").get("/pipeline").get_data(as_text=True))
    assert _text(admin).endswith(f"{TAIL} A Super Admin can {step} in Integrations.")
    assert 'href="/integrations/fakesource"' in admin
    # with nothing attached any more, the banner is the one about attaching
    with hub_app.app_context():
        db.session.execute(sa.update(Attachment).values(detached_at=utcnow()))
        db.session.commit()
    banner = _text(_banner(owner.get("/pipeline").get_data(as_text=True)))
    assert "invite nobody" not in banner and "there are no postings or stages to attach to" in banner


def test_without_any_ats_set_up_the_banner_says_so(hub_app, seeded, as_role):
    with hub_app.app_context():
        db.session.execute(sa.delete(Integration).where(Integration.plugin == "fakesource"))
        db.session.commit()
    banner = _banner(as_role("super_admin").get("/pipeline").get_data(as_text=True))
    assert _text(banner) == f"No ATS is enabled{TAIL} Enable and connect one in Integrations."
    assert 'href="/integrations"' in banner
