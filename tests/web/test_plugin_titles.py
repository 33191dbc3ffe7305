"""Pages and messages name a plugin by its title ("Fake Tests"), never by its id ("fakeassess")."""

from __future__ import annotations

import re

import pytest

from hub import services
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Attachment
from hub import hookimpl
from tests.web.support import FakeAssess, FakeSource, _invitation, seed, sign_in


def test_activity_and_the_dashboard_name_plugins_by_title(hub_app, seeded, as_role):
    client = as_role("admin")
    html = client.get("/activity").get_data(as_text=True)
    delivery_id = seeded.ids["delivery"]
    row = re.search(rf'<tr id="delivery-{delivery_id}" data-status="dead">(.*?)</tr>', html, re.S).group(1)
    assert '<td data-label="Plugin">Fake Tests</td>' in row and "the delivery to Fake Tests" in row and "fakeassess" not in row
    assert "from Fake ATS</span>" in html and "from fakesource" not in html
    assert '<option value="fakeassess">Fake Tests</option>' in html
    dashboard = client.get("/").get_data(as_text=True)
    assert "Fake Tests · Invite on the stage change" in dashboard and "fakeassess ·" not in dashboard
    replayed = client.post(f"/activity/deliveries/{seeded.per_role['admin']['dlv_ui']}/replay",
                           follow_redirects=True).get_data(as_text=True)
    assert "(Fake Tests) is queued to run again." in replayed
    as_role("super_admin").post("/integrations/fakeassess/disable")
    refused = client.post(f"/activity/deliveries/{seeded.per_role['admin']['dlv_api']}/replay",
                          follow_redirects=True).get_data(as_text=True)
    assert "Fake Tests is not enabled; enable it before replaying its deliveries." in refused
    assert "akeassess is not enabled" not in refused


def test_a_candidates_provider_notes_and_messages_name_it_by_title(hub_app, seeded, as_role):
    admin, owner = as_role("admin"), as_role("super_admin")
    failed_id = seeded.per_role["admin"]["inv_reinvite_ui"]
    with hub_app.app_context():
        attachment = db.session.get(Attachment, seeded.ids["attachment"])
        waiting = _invitation(seeded.workspace_id, attachment, "pending").id
        db.session.commit()
        services.set_enabled(get_runtime(), seeded.workspace_id, "fakeassess", False, "test")
    note = admin.get(f"/candidates/{failed_id}").get_data(as_text=True)
    assert "Fake Tests is not enabled: once a Super Admin enables it on the Integrations page, you can re-invite." in note
    assert "Fake Tests is not enabled: enable it on the Integrations page to re-invite." in owner.get(
        f"/candidates/{failed_id}").get_data(as_text=True)
    pending = admin.get(f"/candidates/{waiting}").get_data(as_text=True)
    assert "Fake Tests is not enabled, so this invitation is not being sent: once a Super Admin enables it" in pending
    refused = admin.post(f"/candidates/{failed_id}/reinvite", follow_redirects=True).get_data(as_text=True)
    assert "Fake Tests is not enabled; enable it first" in refused

    with hub_app.app_context():
        services.revoke(get_runtime(), seeded.workspace_id, "fakeassess", "test")
    open_id = seeded.per_role["admin"]["inv_cancel_ui"]
    page = admin.get(f"/candidates/{open_id}").get_data(as_text=True)
    assert "Fake Tests is disconnected, so it will not be told: " in page
    done = admin.post(f"/candidates/{open_id}/cancel", follow_redirects=True).get_data(as_text=True)
    assert "cancelled in the hub; Fake Tests is disconnected, so it was not told: " in done
    gone = admin.get(f"/candidates/{failed_id}").get_data(as_text=True)
    assert "Fake Tests is disconnected: once a Super Admin connects it again in Integrations, you can re-invite." in gone
    assert "fakeassess is" not in gone + done + page


class FailingDisconnect(FakeSource):
    @hookimpl
    def disconnect(self, ctx):
        raise RuntimeError("the vendor refused")


def test_revoke_warnings_name_the_plugin_by_title(make_app):
    app = make_app(plugins=[("fakesource", FailingDisconnect()), ("fakeassess", FakeAssess())], entry_points=False)
    seed(app)
    client = app.test_client()
    sign_in(client, "super_admin@acme.test")
    page = client.post("/integrations/fakesource/revoke", follow_redirects=True).get_data(as_text=True)
    assert "Fake ATS: could not undo everything at the vendor: the vendor refused" in page
    assert "fakesource: could not" not in page


def test_service_messages_name_the_plugin_by_title_for_the_api_and_the_cli(make_app):
    """The API and the CLI show the services' messages as they are (no page rewrites them)."""
    from tests.web.support import api_headers

    app = make_app(plugins=[("fakesource", FailingDisconnect()), ("fakeassess", FakeAssess())], entry_points=False)
    seeded = seed(app)
    revoked = app.test_client().post("/api/v1/integrations/fakesource/revoke",
                                     headers=api_headers(seeded, "super_admin"))
    assert revoked.status_code == 200
    assert revoked.get_json()["warnings"] == ["Fake ATS: could not undo everything at the vendor: the vendor refused"]


def test_revoking_an_integration_never_set_up_names_it_by_title(make_app):
    app = make_app(plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    with app.app_context(), pytest.raises(services.NotFound) as refused:
        services.revoke(get_runtime(), 1, "fakeassess", "test")  # installed, never set up
    assert refused.value.message == "Fake Tests is not set up in this workspace"
