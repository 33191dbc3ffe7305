"""A scaffolded assessment plugin whose round 1 reaches the vendor only after an admin cancelled and
re-invited the invitation (round 2, a new reference): ``record_sent`` writes nothing for round 1
and returns the row in round 2, the cancel's ``on_invitation_status`` then finds the row re-invited
(not cancelled) and leaves it alone, so the plugin itself must withdraw round 1's invitation at the
vendor, or the candidate has two live tests. Round 2's own invitation stays open.

Deliveries run on demand (``run_deliveries``), so the admin's cancel and Re-invite land while round
1's POST is on its way, before their own deliveries run. The generated plugin runs in a fresh
pytest process, loaded without installing it (``HUB_EXTRA_PLUGIN_MODULES``), as
tests/cli/test_scaffold_hooks.py does."""

import os
import subprocess
import sys

from hub.cli.scaffold import render_plugin

STALE_ROUND_TEST = '''
import pytest
import requests

from ats_hub_acme.sandbox import API_KEY
from hub.testing import ProviderHub, RecordingSource, make_test_app, run_deliveries

from tests.conftest import ATTACHMENT


@pytest.fixture
def queued_hub(tmp_path, sandbox_url):
    """conftest's hub, its deliveries run on demand (run_deliveries) instead of inline."""
    source = RecordingSource()
    app = make_test_app(tmp_path, {"PLUGINS": "acme,fakesource", "QUEUE_IMMEDIATE": False},
                        plugins=[("fakesource", source)])
    settings = {"base_url": sandbox_url, "api_key": "test-key", "webhook_secret": "test-secret"}
    with ProviderHub.serve(app, "acme", source, settings=settings, attachment=ATTACHMENT) as served:
        served.call("connect_sandbox", sandbox_url=sandbox_url)
        yield served


def at_vendor(sandbox_url, reference):
    return requests.get(f"{sandbox_url}/invitations", params={"reference": reference}, timeout=10,
                        headers={"Authorization": f"Bearer {API_KEY}"}).json()


def test_round_1_reaching_the_vendor_after_a_re_invite_is_withdrawn_there(queued_hub, sandbox_url, monkeypatch):
    hub = queued_hub
    original = requests.Session.send
    admin = []

    def send(self, prepared, **kwargs):
        if prepared.method == "POST" and prepared.url == sandbox_url + "/invitations" and not admin:
            first = hub.invitation()  # round 1, on its way to the vendor: the admin cancels and re-invites
            admin.append((hub.cancel(first.id), hub.reinvite(first.id)))
        return original(self, prepared, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    hub.move("opp-1")
    run_deliveries(hub.app)
    ((cancelled, reinvited),) = admin
    assert (cancelled.status, reinvited.round) == ("cancelled", 2)

    now = hub.invitation()
    (first,) = at_vendor(sandbox_url, cancelled.external_reference)
    (second,) = at_vendor(sandbox_url, now.external_reference)
    assert now.external_reference != cancelled.external_reference and first["id"] != second["id"]
    assert first["status"] == "cancelled"  # round 1's: withdrawn, not a second live test
    assert second["status"] == "invited"  # round 2's: open
    assert (now.round, now.status, now.provider_invitation_id) == (2, "invited", second["id"])
    assert set(hub.deliveries()) == {"done"}, hub.delivery_list()
'''


def test_a_scaffolded_plugin_withdraws_an_earlier_rounds_invitation_that_reached_the_vendor_late(tmp_path):
    target = tmp_path / "ats-hub-acme"
    for relative, text in render_plugin("acme", "assessment").items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(text)
    (target / "tests" / "test_stale_round.py").write_text(STALE_ROUND_TEST)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(target), HUB_EXTRA_PLUGIN_MODULES="acme=ats_hub_acme")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_stale_round.py"],
                         capture_output=True, text=True, env=env, cwd=target, timeout=180)
    assert run.returncode == 0 and "1 passed" in run.stdout, run.stdout + run.stderr
