"""A third walk through `hub new-plugin NAME --kind source` (an ATS "Teamtail" with its own signature
header and wire format, then `hub demo --source teamtail` with Canditech): the generated tests passed
whatever the plugin did with the timestamp window or the ``archived`` flag, and the generated
write-back broke the hookspec's ``on_assessment_completed`` contract:

* the source's generated tests had no stale-webhook test (the assessment scaffold's
  ``tests/test_webhooks.py`` has one): a plugin accepting webhooks signed days ago passed them all,
  the contract kit refusing only one received a day after the dedupe window;
* the generated sandbox had one candidate, not archived, so a plugin reading every candidate as
  active (``archived=False``) passed, and would have invited archived candidates;
* ``on_assessment_completed`` said nothing on the invitation's timeline (the hookspec asks for
  ``ctx.invitations.note(..., refs={"ats_note": note_id})``; the candidate page showed no trace of
  the note), and wrote "None/None" for a result without a score.
"""

import os
import subprocess
import sys

import pytest
import requests

import hub
from hub.cli.scaffold import render_plugin


def _write(tmp_path, name):
    target = tmp_path / f"ats-hub-{name}"
    for relative, text in render_plugin(name, "source").items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(text)
    return target


def _generated_tests(target, name):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k != "PYTHONPATH"}
    hub_root = os.path.dirname(os.path.dirname(os.path.abspath(hub.__file__)))  # the hub under test
    env.update(PYTHONPATH=os.pathsep.join((str(target), hub_root)), HUB_EXTRA_PLUGIN_MODULES=f"{name}=ats_hub_{name}")
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                          capture_output=True, text=True, env=env, cwd=target, timeout=180)


@pytest.mark.parametrize("mutation", [
    # a replay window of days instead of five minutes
    ("TIMESTAMP_TOLERANCE_SECONDS = 300", "TIMESTAMP_TOLERANCE_SECONDS = 6 * 86400"),
    # a signature dated in the future accepted (replayable until then)
    ("abs(received.timestamp() - int(timestamp))", "(received.timestamp() - int(timestamp))"),
    # every candidate read as active: archived candidates invited
    ('archived=bool(data.get("archived"))', "archived=False"),
], ids=["days-old-signature", "future-dated-signature", "archived-read-as-active"])
def test_the_generated_tests_catch_a_plugin_that_breaks_the_contract(tmp_path, mutation):
    target = _write(tmp_path, "acme")
    plugin = target / "ats_hub_acme" / "__init__.py"
    old, new = mutation
    assert old in plugin.read_text()
    plugin.write_text(plugin.read_text().replace(old, new))
    run = _generated_tests(target, "acme")
    assert run.returncode == 1 and " failed" in run.stdout, run.stdout + run.stderr


@pytest.fixture
def served(tmp_path, monkeypatch):
    """The generated plugin (a package of its own name, imported from its directory) in a served hub,
    connected to its sandbox, with the kit's stand-in provider attached to the assessment stage."""
    import importlib

    from hub.testing import RecordingProvider, SourceHub, make_test_app

    name = "walkcontracts"
    target = _write(tmp_path, name)
    monkeypatch.syspath_prepend(str(target))
    plugin = importlib.import_module(f"ats_hub_{name}")
    sandbox = importlib.import_module(f"ats_hub_{name}.sandbox")
    url, stop = sandbox.serve_in_thread()
    provider = RecordingProvider()
    app = make_test_app(tmp_path, {"PLUGINS": f"{name},fakeprovider"},
                        plugins=[(name, plugin), ("fakeprovider", provider)], entry_points=False)
    try:
        with SourceHub.serve(app, name, provider) as hub:
            hub.call("connect_sandbox", sandbox_url=url)
            hub.attach("posting-1", "stage-1")
            yield hub, url
    finally:
        stop()
        for module in [m for m in sys.modules if m == f"ats_hub_{name}" or m.startswith(f"ats_hub_{name}.")]:
            del sys.modules[module]


def _invited(hub, url):
    answer = requests.post(f"{url}/_sandbox/move/opp-1", data={"stage_id": "stage-1"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return hub.wait_for_invitation("opp-1")


def _notes(url):
    return [note["text"] for note in requests.get(f"{url}/opportunities/opp-1/notes", timeout=10).json()]


def test_the_generated_write_back_is_on_the_timeline(served):
    hub, url = served
    invitation = _invited(hub, url)
    hub.complete(invitation, score=7, max_score=10)
    hub.complete(invitation, score=7, max_score=10, check=False)  # a second report: nothing new
    assert len(_notes(url)) == 1
    written = [detail for kind, detail in hub.timeline(invitation.id) if kind == "note_written"]
    assert len(written) == 1 and "Walkcontracts" in written[0], hub.timeline(invitation.id)


def test_the_generated_write_back_of_a_result_without_a_score_says_so(served):
    hub, url = served
    invitation = _invited(hub, url)
    hub.complete(invitation, report_url="https://assessments.test/report/1")
    [note] = _notes(url)
    assert "None" not in note and "no score" in note and "https://assessments.test/report/1" in note, note


def test_the_generated_read_of_a_candidate_quotes_its_id(served):
    """``/opportunities/{id}`` was built unquoted: an id holding "?" read another candidate (here
    opp-1's, for the id "opp-1?x"), one holding "/" another path of the ATS's API."""
    hub, _url = served
    assert hub.call("source_get_candidate", opportunity_id="opp-1?x") is None
    assert hub.call("source_get_candidate", opportunity_id="opp-1").opportunity_id == "opp-1"
