"""An open invitation whose provider is disabled, revoked or gone says that its result cannot arrive
(the hub refuses that vendor's webhooks meanwhile), on its row and on its page, with the way to the
integration for those who may view integrations; and the page explains why Cancel waits for a
disabled provider while a revoked one's invitations can be cancelled in the hub alone."""

from __future__ import annotations

import re

import pytest

from hub.extensions import db
from hub.store.models import Attachment
from tests.web.support import _invitation


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def _row(html: str, invitation_id: int) -> str:
    return re.search(rf'<tr id="invitation-{invitation_id}"(.*?)</tr>', html, re.S).group(1)


def _disable(hub_app, seeded, how: str) -> None:
    from hub import services
    from hub.runtime import get_runtime

    with hub_app.app_context():
        if how == "disabled":
            services.set_enabled(get_runtime(), seeded.workspace_id, "fakeassess", False, "test")
        else:
            services.revoke(get_runtime(), seeded.workspace_id, "fakeassess", "test")


@pytest.mark.parametrize("how, words", [("disabled", "Fake Tests is disabled: its result cannot arrive until it is "
                                                     "enabled again."),
                                        ("revoked", "Fake Tests has its access revoked: its result cannot arrive "
                                                    "until it is connected again.")])
def test_an_open_invitation_of_an_idle_provider_says_its_result_cannot_arrive(hub_app, seeded, as_role, fakes, how,
                                                                             words):
    source, _ = fakes
    invited = seeded.ids["invitation_p2"]  # invited, on p2
    completed = seeded.ids["invitation"]  # its result is in: nothing to wait for
    for role in ("super_admin", "team_member"):
        html = as_role(role).get("/candidates").get_data(as_text=True)
        assert "cannot arrive" not in html, role
    _disable(hub_app, seeded, how)
    source.calls.clear()
    for role in ("super_admin", "admin", "team_member"):
        client = as_role(role)
        listed = client.get("/candidates").get_data(as_text=True)
        row = _row(listed, invited)
        assert 'data-status="provider-idle"' in row and "Result cannot arrive" in row, role
        assert words in _text(row), role
        assert "cannot arrive" not in _row(listed, completed), role
        # the list's own refresh shows it too
        assert words in _text(_row(client.get("/candidates?fragment=1").get_data(as_text=True), invited))
        page = client.get(f"/candidates/{invited}").get_data(as_text=True)
        note = re.search(r'id="provider-idle"[^>]*>(.*?)</div>', page, re.S).group(1)
        assert words in _text(note), role
        link = 'href="/integrations/fakeassess"'
        if role == "team_member":  # no integrations.view: no link to a page they may not open
            assert link not in note and link not in row
        else:
            assert link in note and link in row and "Open Fake Tests in Integrations" in _text(note)
        assert "cannot arrive" not in client.get(f"/candidates/{completed}").get_data(as_text=True)
    assert source.calls == []  # told from the hub's records: no vendor is asked (these roles see every posting)


def test_a_pending_invitation_of_a_disabled_provider_says_it_cannot_be_sent(hub_app, seeded, as_role):
    with hub_app.app_context():
        attachment = db.session.get(Attachment, seeded.ids["attachment"])
        waiting = _invitation(seeded.workspace_id, attachment, "pending").id
        db.session.commit()
    _disable(hub_app, seeded, "disabled")
    client = as_role("team_member")
    row = _text(_row(client.get("/candidates").get_data(as_text=True), waiting))
    assert "Cannot be sent" in row
    assert ("Fake Tests is disabled: this invitation cannot be sent, nor its result arrive, until it is enabled "
            "again.") in row


def test_cancel_while_disabled_says_why_it_waits_unlike_after_a_revoke(hub_app, seeded, as_role):
    open_id = seeded.per_role["super_admin"]["inv_cancel_ui"]
    _disable(hub_app, seeded, "disabled")
    owner = _text(re.search(r'id="provider-disabled-note">(.*?)</p>',
                            as_role("super_admin").get(f"/candidates/{open_id}").get_data(as_text=True),
                            re.S).group(1))
    assert owner == ("Fake Tests is not enabled: enable it on the Integrations page to cancel. Cancelling waits for "
                     "it so that Fake Tests is told and withdraws the invitation where it can: a cancel made while "
                     "it is disabled would never reach it, and the candidate's link would keep working. Only once "
                     "its access is revoked, when nothing can reach Fake Tests any more, does the hub cancel in the "
                     "hub alone.")
    admin = _text(re.search(r'id="provider-disabled-note">(.*?)</p>',
                            as_role("admin").get(f"/candidates/{open_id}").get_data(as_text=True), re.S).group(1))
    assert admin.startswith("Fake Tests is not enabled: once a Super Admin enables it on the Integrations page, you "
                            "can cancel. Cancelling waits for it")
