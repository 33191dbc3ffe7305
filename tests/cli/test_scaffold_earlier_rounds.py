"""A scaffolded assessment plugin sends round N > 1 of a re-invited invitation only once what earlier
rounds left open at the vendor is withdrawn there, so the candidate never has a stale test beside
the new one. A round is left open when an admin's cancel could not reach the vendor (its delivery
waits for a retry) and the admin re-invites before that retry, which then finds the row no longer
cancelled. A round the candidate completed is left as it is; the vendor failing while an earlier
round is withdrawn sends nothing of the new round, and the delivery's retry does it all.

The generated plugin's own test of this (``tests/test_cancel.py``) and the tests below run in a fresh
pytest process, the plugin loaded without installing it (``HUB_EXTRA_PLUGIN_MODULES``), as
tests/cli/test_scaffold_hooks.py does."""

import os
import subprocess
import sys

from hub.cli.scaffold import render_plugin

ROUNDS_TEST = '''
import requests

from ats_hub_acme.sandbox import API_KEY
from hub.testing import run_deliveries


def by_reference(sandbox_url, reference):
    return requests.get(f"{sandbox_url}/invitations", params={"reference": reference}, timeout=10,
                        headers={"Authorization": f"Bearer {API_KEY}"}).json()


def vendor_down_for_cancels(monkeypatch):
    real_send = requests.Session.send

    def send(session, request, **kwargs):
        if request.method == "POST" and request.url.endswith("/cancel"):
            raise requests.ConnectionError("the vendor is down")
        return real_send(session, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)


def leave_open(hub, invitation, monkeypatch):
    vendor_down_for_cancels(monkeypatch)
    assert hub.cancel(invitation.id).status == "cancelled"  # its withdraw waits for a retry
    monkeypatch.undo()


def test_a_completed_round_is_left_alone_and_an_open_one_withdrawn(hub, at_vendor, invited, monkeypatch):
    answer = requests.post(invited.invite_url, data={"score": "7"}, timeout=10)  # round 1: finished
    assert answer.status_code == 200, answer.text
    hub.wait_for(lambda: hub.invitation().status == "completed", what="round 1's completion")
    done = at_vendor(invited)
    hub.reinvite(invited.id)
    second = hub.invitation()
    assert (second.round, second.status, at_vendor(invited)) == (2, "invited", done)  # untouched, not an error
    leave_open(hub, second, monkeypatch)
    assert at_vendor(second)["status"] == "invited"

    hub.reinvite(invited.id)

    third = hub.invitation()
    assert (third.round, third.status) == (3, "invited")
    assert at_vendor(invited) == done
    assert at_vendor(second)["status"] == "cancelled"
    assert at_vendor(third)["status"] == "invited"
    kinds = [kind for kind, _ in hub.timeline(invited.id)]
    assert kinds.count("earlier_round_withdrawn") == 1 and "cancel_skipped" not in kinds


def test_a_withdrawal_that_fails_for_now_sends_nothing_and_is_retried(hub, sandbox_url, at_vendor, invited,
                                                                       monkeypatch):
    leave_open(hub, invited, monkeypatch)
    vendor_down_for_cancels(monkeypatch)

    hub.reinvite(invited.id)

    now = hub.invitation()
    assert (now.round, now.status, now.provider_invitation_id) == (2, "pending", None)
    sends = [d for d in hub.delivery_list() if d.hook == "on_reinvite_requested"]
    assert [(d.status, d.last_error.split(":")[0]) for d in sends] == [("retry", "TemporaryError")], sends
    assert by_reference(sandbox_url, now.external_reference) == []  # round 2 not at the vendor
    assert at_vendor(invited)["status"] == "invited"

    monkeypatch.undo()
    run_deliveries(hub.app)  # the retries: the re-invite's, and the admin's cancel of round 1

    now = hub.invitation()
    assert (now.round, now.status) == (2, "invited")
    assert at_vendor(invited)["status"] == "cancelled"
    assert at_vendor(now)["status"] == "invited"
    assert set(hub.deliveries()) == {"done"}, hub.delivery_list()
'''


def test_a_scaffolded_plugin_withdraws_earlier_rounds_left_open_before_it_sends_a_re_invite(tmp_path):
    target = tmp_path / "ats-hub-acme"
    for relative, text in render_plugin("acme", "assessment").items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(text)
    (target / "tests" / "test_rounds.py").write_text(ROUNDS_TEST)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(target), HUB_EXTRA_PLUGIN_MODULES="acme=ats_hub_acme")
    generated = ("tests/test_cancel.py::"
                 "test_an_earlier_round_still_open_at_the_vendor_is_withdrawn_before_a_re_invite_is_sent")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", generated,
                          "tests/test_rounds.py"], capture_output=True, text=True, env=env, cwd=target, timeout=180)
    assert run.returncode == 0 and "3 passed" in run.stdout, run.stdout + run.stderr
