"""An ATS's developer followed docs/plugin-guide.md from scratch: `hub new-plugin teamtrack --kind
source`, made the plugin their ATS's, then `hub demo --source teamtrack` with the Canditech sandbox,
to drive the story (a stage change, the invitation, the result written back). What they met, each
now fixed and kept so here:

* the generated ATS sandbox could not send a webhook: no page, no move, no way to learn the hub's
  webhook URL (``connect_sandbox`` never told it), so in ``hub demo`` nothing could ever enter a
  stage, whereas the demo's banner said "Teamtrack sandbox: move a candidate ...". The assessment
  scaffold's sandbox has its ``/_sandbox/config`` and a page that sends its webhook; the source's
  now has them too (``/`` lists the candidates with a Move form; a move sends the signed
  ``stage_change``), and ``tests/test_webhooks.py`` sends one through a served hub's real ingress;
* the guide said what is left to write for an assessment plugin only; for a source it now names the
  events the hub gets only from the ATS's webhooks (archive, deletion, hire), the write-backs the
  scaffold leaves out (verdicts, statuses) and the attachment options the hub's attach form offers
  that only the source acts on.

A later walk-through found the generated webhook test serving the app by hand and setting
``app.config["PUBLIC_URL"]`` itself, and going no further than the hub's answer: it now uses
``hub.testing.SourceHub`` (a served hub with a stand-in provider) and follows the story, the
invitation the webhook led to and the result written back to the sandbox.
"""

import os
import subprocess
import sys
import types
from datetime import datetime, timezone

import requests
from flask import Flask, request

from hub.cli.scaffold import render_plugin
from hub.entities import StageChange, WebhookRequest
from hub.kit.sandbox import server
from tests.cli.test_new_plugin import _rendered
from tests.cli.test_scaffold_walkthrough_2 import _flat, _section


def _write(tmp_path, name="acme", kind="source"):
    target = tmp_path / f"ats-hub-{name}"
    for relative, text in render_plugin(name, kind).items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(text)
    return target


def test_the_scaffolded_source_plugin_passes_its_tests_webhook_through_a_served_hub_included(tmp_path):
    target = _write(tmp_path)
    assert (target / "tests" / "test_webhooks.py").is_file()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(target), HUB_EXTRA_PLUGIN_MODULES="acme=ats_hub_acme")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", "tests"],
                         capture_output=True, text=True, env=env, cwd=target, timeout=180)
    assert run.returncode == 0 and " passed" in run.stdout and "skipped" not in run.stdout, run.stdout + run.stderr


def _sandbox_app():
    """The generated ATS sandbox's app (test_new_plugin's ``_sandbox`` runs the module without a
    ``__name__``, which Flask needs to find its root path)."""
    names: dict = {"__name__": "source_walkthrough_sandbox"}
    exec(compile(render_plugin("acme", "source")["ats_hub_acme/sandbox/__init__.py"], "sandbox", "exec"), names)
    return names["create_sandbox_app"]()


def _receiver():
    """A stand-in for the hub's ingress: every request it gets, as (body, headers)."""
    got = []
    app = Flask("receiver")

    @app.post("/webhooks/acme/key")
    def receive():
        got.append((request.get_data(), dict(request.headers)))
        return {"status": "accepted"}

    return got, server.serve_in_thread(app, quiet=True, name="receiver")


def test_a_move_in_the_sandbox_sends_a_signed_stage_change_the_plugin_accepts():
    got, (receiver_url, stop) = _receiver()
    try:
        client = _sandbox_app().test_client()
        client.post("/_sandbox/config", json={"webhook_url": receiver_url + "/webhooks/acme/key",
                                              "webhook_secret": "s3cret"})
        page = client.get("/").get_data(as_text=True)
        assert "Sam Sample" in page and 'action="/_sandbox/move/opp-1"' in page and "Move" in page
        answer = client.post("/_sandbox/move/opp-1", data={"stage_id": "stage-2"})
        assert answer.status_code == 200 and "answered 200" in answer.get_data(as_text=True)
        assert client.get("/opportunities/opp-1").get_json()["stage_id"] == "stage-2"
    finally:
        stop()
    [(body, headers)] = got
    ctx = types.SimpleNamespace(secrets={"webhook_secret": "s3cret"})
    result = _rendered("source")["verify_webhook"](ctx, WebhookRequest(body=body, headers=headers,
                                                                         received_at=datetime.now(timezone.utc)))
    [inbound] = result.events
    assert inbound.event == StageChange(opportunity_id="opp-1", to_stage_id="stage-2")


def test_connect_sandbox_gives_the_sandbox_the_hubs_webhook_url():
    url, stop = server.serve_in_thread(_sandbox_app(), quiet=True)
    stored: dict = {}
    ctx = types.SimpleNamespace(
        settings=stored, secrets=stored, http=requests.Session(), webhook_url="http://hub.test/webhooks/acme/k",
        update_settings=stored.update, update_secrets=stored.update, set_status=lambda *args: None)
    try:
        message = _rendered("source")["connect_sandbox"](ctx, url)
        configured = requests.post(url + "/_sandbox/config", json={}, timeout=5).json()
    finally:
        stop()
    assert configured["webhook_url"] == "http://hub.test/webhooks/acme/k"
    assert "http://hub.test/webhooks/acme/k" in message


def test_the_guide_says_what_a_source_plugin_has_left_to_write():
    guide = _flat(_section("Your first plugin"))
    start = guide.index("A source plugin gets")
    source = guide[start:guide.index("Give the plugin a virtual environment", start)]
    for words in ("tests/test_webhooks.py", "hub.testing.SourceHub", "/_sandbox/move/", "ArchiveChange",
                  "CandidateDeleted", "CandidateHired", "on_verdict", "on_invitation_status",
                  "move_to_stage_on_thumbs_up", "archive_reason_on_thumbs_down", "tag_results"):
        assert words in source, words
    assert "--source" in guide  # the demo connects one ATS: the new one only when asked


def test_the_generated_readme_names_the_source_webhook_test():
    assert "`tests/test_webhooks.py` sends the sandbox's webhook" in render_plugin("acme", "source")["README.md"]


def test_the_generated_webhook_test_follows_the_story_through_the_kits_source_hub():
    text = render_plugin("acme", "source")["tests/test_webhooks.py"]
    assert 'SourceHub.serve(app, "acme", provider)' in text and "RecordingProvider()" in text
    assert "PUBLIC_URL" not in text and "server.serve_in_thread(app" not in text  # no hand-served hub
    for step in ("hub.attach(POSTING, STAGE)", 'hub.wait_for_invitation("opp-1")', "hub.complete(invitation",
                 "_notes(sandbox_url)"):
        assert step in text, step
    assert "`hub.testing.SourceHub`" in render_plugin("acme", "source")["README.md"]
