"""A scaffolded assessment plugin whose create's answer was lost, then the vendor's webhook of that
invitation before the retry: the hub keeps the vendor's id all the same (from a
lost-create walk, after Canditech's fix).

The POST reaches the sandbox, which creates the invitation, but its answer is lost (the connection
drops after the vendor acted), so the row stays ``pending`` with no vendor id. Before the engine's
retry (which would look the reference up and record the id) the candidate finishes the test and
the sandbox's "completed" webhook moves the row on. The retry then finds the row no longer pending
and sends nothing, as it must; but the vendor's id was never recorded. In the scaffold as
generated only "completed" (final) comes by webhook, so what is lost is the vendor's id on the
invitation (its link no longer matters: the test is finished); a plugin adding a "started" webhook (as Canditech and Vervoe have) would
lose reconciliation of the invitation too (``ctx.invitations.list_open`` lists only invitations
with a vendor id).

The generated plugin runs in a fresh pytest process, loaded without installing it
(``HUB_EXTRA_PLUGIN_MODULES``), as tests/cli/test_scaffold_hooks.py does."""

import os
import subprocess
import sys

from hub.cli.scaffold import render_plugin

LOST_CREATE_TEST = '''
import time

import requests

from hub.engine.sweeper import sweep


def test_a_webhook_before_the_retry_of_a_lost_create_keeps_the_vendors_id(hub, sandbox_url, monkeypatch):
    original = requests.Session.send
    created = []

    def send(self, prepared, **kwargs):
        response = original(self, prepared, **kwargs)
        if prepared.method == "POST" and prepared.url == sandbox_url + "/invitations" and not created:
            created.append(response.json())  # the vendor acted; its answer never reaches the plugin
            raise requests.ConnectionError("connection reset after the vendor answered")
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    hub.move("opp-1")
    assert hub.invitation().status == "pending" and hub.deliveries() == {"retry": 1}
    (remote,) = created

    answer = requests.post(remote["url"], data={"score": "7"}, timeout=10)  # the candidate finishes
    assert "The hub answered 200" in answer.text, answer.text
    hub.wait_for(lambda: hub.invitation().status == "completed", what="the completion")
    time.sleep(0.06)  # past the retry's backoff
    hub.wait_for(lambda: sweep(hub.runtime) >= 0 and "retry" not in hub.deliveries(), what="the retry")

    done = hub.invitation()
    assert (done.status, done.score) == ("completed", 7)
    assert done.provider_invitation_id == remote["id"]
    assert len(created) == 1  # one POST: the retry sent nothing
'''


def test_a_scaffolded_plugin_keeps_the_vendors_id_from_a_webhook_before_the_retry(tmp_path):
    target = tmp_path / "ats-hub-acme"
    for relative, text in render_plugin("acme", "assessment").items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(text)
    (target / "tests" / "test_lost_create.py").write_text(LOST_CREATE_TEST)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(target), HUB_EXTRA_PLUGIN_MODULES="acme=ats_hub_acme")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_lost_create.py"],
                         capture_output=True, text=True, env=env, cwd=target, timeout=180)
    assert run.returncode == 0 and "1 passed" in run.stdout, run.stdout + run.stderr
