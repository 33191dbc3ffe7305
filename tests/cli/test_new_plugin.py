"""`hub new-plugin` scaffolds a distribution that installs into a fresh virtual environment next to
the hub and passes its contract tests as generated; the hub discovers it through its entry point,
enables it and calls it, with no change to the hub's code."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from hub.cli.scaffold import render_plugin
from tests.support.processes import ROOT


def test_rendered_files_name_the_entry_point():
    files = render_plugin("acme", "assessment")
    assert '[project.entry-points.ats_hub]\nacme = "ats_hub_acme"' in files["pyproject.toml"]
    assert "class TestPluginContract(AssessmentPluginContract)" in files["tests/test_contract.py"]
    compile(files["ats_hub_acme/__init__.py"], "plugin", "exec")
    compile(render_plugin("crm", "source")["ats_hub_crm/__init__.py"], "plugin", "exec")


def test_rendered_plugins_build_on_the_public_plugin_kit():
    from hub.testing.contract import PUBLIC_MODULES

    assessment = render_plugin("acme", "assessment")
    assert "from hub.kit import provider" in assessment["ats_hub_acme/__init__.py"]
    assert "provider.send_once(" in assessment["ats_hub_acme/__init__.py"]
    for name, kind in (("acme", "assessment"), ("crm", "source")):
        files = render_plugin(name, kind)
        assert "from hub.kit.sandbox import server" in files[f"ats_hub_{name}/sandbox/__init__.py"]
        assert "server.serve_forever(" in files[f"ats_hub_{name}/sandbox/__main__.py"]
    assert {"hub.kit", "hub.kit.sandbox"} <= PUBLIC_MODULES


def _rendered(kind: str) -> dict:
    """The generated plugin module of ``kind``, executed: its names."""
    plugin: dict = {}
    exec(compile(render_plugin("acme", kind)["ats_hub_acme/__init__.py"], "plugin", "exec"), plugin)
    return plugin


def _sandbox(kind: str) -> dict:
    """The generated sandbox module of ``kind``, executed: its names (``sign_webhook``...)."""
    sandbox: dict = {}
    exec(compile(render_plugin("acme", kind)["ats_hub_acme/sandbox/__init__.py"], "sandbox", "exec"), sandbox)
    return sandbox


def _verify(plugin: dict, body: bytes, invitations=(), *, signed_ago: float = 0.0, kind: str = "assessment"):
    """The plugin's ``verify_webhook`` answer to ``body``, signed as its sandbox signs
    ``signed_ago`` seconds before the hub received it, in a hub holding ``invitations``."""
    import time
    import types

    from hub.entities import WebhookRequest
    from hub.store.models import utcnow

    known = {invitation.id: invitation for invitation in invitations}
    ctx = types.SimpleNamespace(secrets={"webhook_secret": "secret"}, plugin_name="acme",
                                invitations=types.SimpleNamespace(get=known.get))
    headers = _sandbox(kind)["sign_webhook"]("secret", body, at=time.time() - signed_ago)
    request = WebhookRequest(body=body, headers=headers, received_at=utcnow(), remote_addr="127.0.0.1")
    return plugin["verify_webhook"](ctx, request)


def _refusal(plugin: dict, body: bytes, invitations=(), *, signed_ago: float = 0.0, kind: str = "assessment"):
    """The ``WebhookRejected`` the plugin's ``verify_webhook`` raises for ``body``, signed right
    (``signed_ago`` seconds before it was received), in a hub holding ``invitations``."""
    from hub.errors import WebhookRejected

    with pytest.raises(WebhookRejected) as caught:
        _verify(plugin, body, invitations, signed_ago=signed_ago, kind=kind)
    return caught.value


@pytest.mark.parametrize("kind", ["assessment", "source"])
def test_rendered_plugins_refuse_a_signed_webhook_without_a_usable_event_id(kind):
    """The hub needs an event id to deduplicate (an empty one is a plugin bug, answered 500): the
    generated plugin answers 422 first."""
    plugin = _rendered(kind)
    for body in (b'{"id": "", "type": "completed"}', b'{"type": "completed"}', b'{"id": 7}'):
        refusal = _refusal(plugin, body, kind=kind)
        assert refusal.status == 422 and "non-empty string id" in refusal.message


def test_the_rendered_assessment_plugin_refuses_a_result_with_a_wrong_value():
    """A text score was passed on and failed every attempt to store it: 500 for ever."""
    from hub.entities import Invitation

    body = b'{"id": "evt-2", "type": "completed", "reference": "hub-inv-2-tok", "score": "eight", "max_score": 10}'
    invited = Invitation(id=2, attachment_id=1, opportunity_id="opp-1", candidate_name="Ada", candidate_email=None,
                         provider="acme", assessment_id="basic", assessment_name="Basic", status="invited",
                         reference_token="tok")
    refusal = _refusal(_rendered("assessment"), body, [invited])
    assert refusal.status == 422 and "AssessmentResult.score must be a finite number" in refusal.message


def test_the_rendered_source_plugin_refuses_a_stage_change_without_an_opportunity_id():
    """It made ``StageChange(opportunity_id='None', to_stage_id='None')`` of a webhook without ids
    (``str(None)``), and its contract tests passed."""
    import json

    from hub.entities import StageChange

    plugin = _rendered("source")

    def body(**fields):
        return json.dumps({"id": "evt-1", "type": "stage_change", **fields}).encode()

    for missing in ({}, {"opportunity_id": None}, {"opportunity_id": ""}, {"opportunity_id": 7}):
        refusal = _refusal(plugin, body(to_stage_id="stage-1", **missing), kind="source")
        assert refusal.status == 422 and "field 'opportunity_id' is missing or not a non-empty string" in \
            refusal.message, missing
    refusal = _refusal(plugin, body(opportunity_id="opp-1", to_stage_id=7), kind="source")
    assert refusal.status == 422 and "field 'to_stage_id' is not a string" in refusal.message
    # a stage change naming no stage: "" (the candidate's current stage), as the guide says
    for named, stage in (({}, ""), ({"to_stage_id": None}, ""), ({"to_stage_id": "stage-1"}, "stage-1")):
        (inbound,) = _verify(plugin, body(opportunity_id="opp-1", **named), kind="source").events
        assert (inbound.external_id, inbound.event) == ("evt-1", StageChange(opportunity_id="opp-1",
                                                                             to_stage_id=stage))


@pytest.mark.parametrize("kind", ["assessment", "source"])
def test_the_rendered_plugins_refuse_a_stale_or_undated_webhook(kind):
    """The guide and the hookspec ask for a timestamp window: the scaffold signed the body alone, so
    a captured request could be replayed once the hub had forgotten its event id."""
    import hashlib
    import hmac
    import types

    from hub.entities import WebhookRequest, WebhookResult
    from hub.errors import WebhookRejected
    from hub.store.models import utcnow

    plugin = _rendered(kind)
    body = b'{"id": "evt-1", "type": "ping"}'
    for ago in (3600, -3600):  # signed an hour before it arrived, or an hour ahead of the hub's clock
        refusal = _refusal(plugin, body, signed_ago=ago, kind=kind)
        assert refusal.status == 401 and "stale webhook" in refusal.message
    assert isinstance(_verify(plugin, body, signed_ago=60, kind=kind), WebhookResult)  # within the window
    ctx = types.SimpleNamespace(secrets={"webhook_secret": "secret"}, plugin_name="acme")
    body_only = {"X-Signature": hmac.new(b"secret", body, hashlib.sha256).hexdigest()}
    with pytest.raises(WebhookRejected) as undated:
        plugin["verify_webhook"](ctx, WebhookRequest(body=body, headers=body_only, received_at=utcnow()))
    assert undated.value.status == 401 and "X-Timestamp" in undated.value.message


@pytest.mark.parametrize("kind", ["assessment", "source"])
def test_the_rendered_plugins_parse_webhook_bodies_with_the_kit(kind):
    """``json.loads`` took ``NaN`` and numbers of any length; ``hub.kit.json_body`` refuses them
    and says why, for the 400."""
    source = render_plugin("acme", kind)["ats_hub_acme/__init__.py"]
    assert "from hub.kit.json_body import NotJson, parse_json_body" in source and "json.loads" not in source
    plugin = _rendered(kind)
    for body, why in ((b'{"id": "evt-1", "score": NaN}', "NaN is not a JSON value"),
                      (b'{"id": "evt-1", "score": ' + b"9" * 500 + b"}", "more than 100 digits"),
                      (b'{"id": "evt-1"\xff}', "not UTF-8")):
        refusal = _refusal(plugin, body, kind=kind)
        assert refusal.status == 400 and refusal.message.startswith("the body is not valid JSON: ")
        assert why in refusal.message


@pytest.mark.parametrize("kind, listed", [("assessment", "assessments"), ("source", "postings")])
def test_the_rendered_plugins_test_their_connection_and_give_the_integration_page_its_texts(kind, listed):
    """The scaffold registered no ``test_connection`` ("Test connection" said the plugin does not
    support it) and none of the page's texts: placeholders now say what to write."""
    import types

    from hub.errors import HubError

    plugin = _rendered(kind)
    specs: list = []
    plugin["register_integration"](specs.append)
    (spec,) = specs
    for text in (spec.webhook_help, spec.verification_help, spec.revoke_help):
        assert text.startswith("TODO: say ") and "Acme" in text

    def ctx(answer):
        return types.SimpleNamespace(settings={"base_url": "http://vendor.test"}, secrets={"api_key": "k"},
                                     http=types.SimpleNamespace(request=lambda *args, **kwargs: answer))

    listing = types.SimpleNamespace(status_code=200, headers={}, text="[...]", json=lambda: [{"id": "a"}, {"id": "b"}])
    assert plugin["test_connection"](ctx(listing)) == f"Acme is connected: 2 {listed}"
    assert plugin["test_connection"].__test__ is False  # pytest does not collect it where it is imported
    refused = types.SimpleNamespace(status_code=401, headers={}, text="bad key")
    with pytest.raises(HubError) as caught:
        plugin["test_connection"](ctx(refused))
    assert caught.value.status == 502 and caught.value.message == \
        f"Acme answered 401 Unauthorized to GET /{listed}: “bad key”", caught.value.message


@pytest.mark.parametrize("name, said", [("acme", "Sends an Acme assessment when"),
                                         ("quiz_lab", "Sends a Quiz Lab assessment when")])
def test_the_rendered_assessment_plugins_description_has_the_article_of_its_title(name, said):
    """The Integrations list showed "Sends a Acme assessment ..." for the guide's own example."""
    plugin: dict = {}
    exec(compile(render_plugin(name, "assessment")[f"ats_hub_{name}/__init__.py"], "plugin", "exec"), plugin)
    specs: list = []
    plugin["register_integration"](specs.append)
    assert specs[0].description.startswith(said), specs[0].description


def test_the_rendered_assessment_plugin_withdraws_only_a_cancel_of_its_own_made_by_someone_else():
    """``on_invitation_status`` is delivered to every enabled plugin for every invitation's change:
    another provider's invitation, and the plugin's own transitions (``progress.by``), are not its to
    withdraw. An admin's cancel of its invitation is withdrawn at the vendor."""
    import contextlib
    import types

    from hub.entities import Invitation, InvitationProgress

    def invitation(invitation_id, provider, vendor_id):
        return Invitation(id=invitation_id, attachment_id=1, opportunity_id="opp-1", candidate_name="Ada",
                          candidate_email=None, provider=provider, assessment_id="basic", assessment_name="Basic",
                          status="cancelled", reference_token="tok", provider_invitation_id=vendor_id)

    calls = []

    def request(method, url, **kwargs):
        calls.append((method, url))
        return types.SimpleNamespace(status_code=200, headers={}, text="{}", json=lambda: {})

    known = {1: invitation(1, "acme", "v/1"), 2: invitation(2, "canditech", "c-2")}
    ctx = types.SimpleNamespace(plugin_name="acme", settings={"base_url": "http://vendor.test"},
                                secrets={"api_key": "k"}, http=types.SimpleNamespace(request=request),
                                invitations=types.SimpleNamespace(get=known.get),
                                lock=lambda name, ttl=60.0, wait=10.0: contextlib.nullcontext())
    on_status = _rendered("assessment")["on_invitation_status"]
    on_status(ctx, InvitationProgress(invitation_id=2, status="cancelled"))  # another provider's invitation
    on_status(ctx, InvitationProgress(invitation_id=1, status="cancelled", by="acme"))  # its own cancel
    on_status(ctx, InvitationProgress(invitation_id=1, status="started"))
    assert calls == []
    on_status(ctx, InvitationProgress(invitation_id=1, status="cancelled", reason="cancelled by admin@example.com"))
    assert calls == [("POST", "http://vendor.test/invitations/v%2F1/cancel")]  # the vendor's id quoted


def test_the_next_step_is_a_virtual_environment_of_the_plugins_own(runner, tmp_path):
    """It said ``pip install -e DIR[test]`` into the active environment: in the hub's development
    environment the plugin then loads in every ``hub`` command and in the hub's own test suite."""
    target = tmp_path / "ats-hub-acme"
    result = runner.invoke(args=["new-plugin", "acme", "--kind", "assessment", "--directory", str(target)])
    assert result.exit_code == 0, result.output
    commands = [line.strip() for line in result.output.splitlines() if line.startswith("  ")]
    assert commands[0].endswith(f" -m venv {target}/.venv")
    assert commands[1] == f"{target}/.venv/bin/pip install -e {ROOT} -e '{target}[test]'"
    assert commands[2] == f"{target}/.venv/bin/python -m pytest {target}/tests"
    assert commands[3] == \
        f"cd {target} && PYTHONPATH=. HUB_EXTRA_PLUGIN_MODULES=acme=ats_hub_acme {os.path.abspath(sys.executable)} -m pytest tests"
    assert [line for line in result.output.splitlines() if "pip install" in line] == [f"  {commands[1]}"]


@pytest.mark.parametrize("name", ["Bad-Name", "x", "class"])
def test_bad_names_are_refused(runner, tmp_path, name):
    result = runner.invoke(args=["new-plugin", name, "--kind", "assessment", "--directory", str(tmp_path / "p")])
    assert result.exit_code != 0 and "NAME" in result.output


def _fresh_venv(tmp_path: Path) -> Path:
    """A new virtualenv whose dependencies come from the project's (a .pth), with the hub itself
    installed from its source tree as any user would."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    site = subprocess.run([str(venv / "bin/python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _pip(venv: Path, *args: str) -> None:
    subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "--no-deps", *args],
                   check=True, timeout=300)


@pytest.fixture(scope="module")
def hub_venv(tmp_path_factory):
    """One fresh virtualenv with the hub installed, shared by the scaffold tests of this module."""
    venv = _fresh_venv(tmp_path_factory.mktemp("hubvenv"))
    _pip(venv, str(ROOT))
    return venv


@pytest.mark.slow
@pytest.mark.parametrize("kind, name", [("assessment", "acme"), ("source", "crm")])
def test_scaffolded_plugin_installs_is_discovered_and_passes_its_tests(runner, tmp_path, hub_venv, kind, name):
    target = tmp_path / f"ats-hub-{name}"
    result = runner.invoke(args=["new-plugin", name, "--kind", kind, "--directory", str(target)])
    assert result.exit_code == 0, result.output
    venv = hub_venv
    _pip(venv, str(target))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k != "PYTHONPATH"}
    env["HUB_INSTANCE_PATH"] = str(tmp_path / "instance")
    before_init = subprocess.run([str(venv / "bin/hub"), "plugins", "list"], capture_output=True, text=True, env=env,
                                 cwd=tmp_path, timeout=120)
    assert before_init.returncode != 0 and "run `hub init`" in before_init.stderr
    init = subprocess.run([str(venv / "bin/hub"), "init", "--non-interactive"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert init.returncode == 0, init.stderr
    listing = subprocess.run([str(venv / "bin/hub"), "plugins", "list"], capture_output=True, text=True, env=env,
                             cwd=tmp_path, timeout=120)
    assert listing.returncode == 0, listing.stderr
    assert f"{name}\t{kind}\t0.1.0\tdisabled" in listing.stdout
    enabled = subprocess.run([str(venv / "bin/hub"), "plugins", "enable", name], capture_output=True, text=True,
                             env=env, cwd=tmp_path, timeout=120)
    assert f"{name} enabled" in enabled.stdout, enabled.stderr
    tests = subprocess.run([str(venv / "bin/python"), "-m", "pytest", "-v", "-p", "no:cacheprovider",
                            str(target / "tests")], capture_output=True, text=True, env=env, cwd=target, timeout=300)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    assert "SKIPPED" not in tests.stdout, tests.stdout  # every generated test runs (a source's backfill check too)
    for test in SCAFFOLD_TESTS[kind]:  # the generated hooks, exercised against the plugin's own sandbox
        assert f"tests/{test} PASSED" in tests.stdout, tests.stdout


SCAFFOLD_TESTS = {
    "assessment": [
        "test_contract.py::TestPluginContract::test_contract_tampered_webhooks_are_rejected",  # a stale one too
        "test_contract.py::TestPluginContract::test_contract_invites_exactly_once",
        "test_hooks.py::test_the_sandbox_completion_webhook_is_recorded",
        "test_hooks.py::test_a_refused_api_key_is_said_in_the_vendors_words",
        "test_cancel.py::test_archiving_the_candidate_cancels_the_invitation_at_the_vendor",
        "test_cancel.py::test_an_admins_cancel_is_withdrawn_at_the_vendor",
        "test_cancel.py::test_an_earlier_round_still_open_at_the_vendor_is_withdrawn_before_a_re_invite_is_sent",
        "test_cancel.py::test_reconcile_finds_a_completion_whose_webhook_was_lost",
        "test_cancel.py::test_a_result_finished_before_an_admins_cancel_is_found_by_reconcile",
        "test_webhooks.py::test_a_stale_webhook_is_refused",
    ],
    "source": [
        "test_contract.py::TestPluginContract::test_contract_tampered_webhooks_are_rejected",
        "test_contract.py::TestPluginContract::test_contract_result_writeback_is_idempotent",
        "test_contract.py::test_a_stage_change_without_an_opportunity_id_is_refused",  # with plugin_context's ctx
        "test_contract.py::test_a_stage_change_naming_no_stage_is_to_the_candidates_current_stage",
    ],
}


@pytest.mark.parametrize("kind", ["assessment", "source"])
@pytest.mark.parametrize("status, headers, error, retry_after", [
    (401, {}, "NeedsReauthorization", None),
    (403, {}, "PermanentError", None),  # a permission for one request, not the credentials
    (400, {}, "PermanentError", None),
    (404, {}, "PermanentError", None),
    (429, {"Retry-After": "30"}, "TemporaryError", 30.0),
    (503, {}, "TemporaryError", None),
])
def test_the_rendered_plugins_turn_vendor_errors_into_the_hubs(kind, status, headers, error, retry_after):
    """Every 4xx used to pass as success: a wrong API key surfaced as "string indices must be
    integers" and the invitation stayed pending for good."""
    import types

    plugin = _rendered(kind)
    answer = types.SimpleNamespace(status_code=status, headers=headers, text="nope")
    ctx = types.SimpleNamespace(settings={"base_url": "http://vendor.test"}, secrets={"api_key": "k"},
                                http=types.SimpleNamespace(request=lambda *args, **kwargs: answer))
    with pytest.raises(Exception) as caught:
        plugin["_api"](ctx, "GET", "/things")
    assert type(caught.value).__name__ == error and "answered %d" % status in str(caught.value)
    assert "to GET /things: “nope”" in str(caught.value)
    assert getattr(caught.value, "retry_after", None) == retry_after
    assert plugin["_api"](ctx, "GET", "/things", allow=(status,)) is answer


@pytest.mark.parametrize("kind", ["assessment", "source"])
def test_the_rendered_plugins_name_an_html_error_page_never_show_it(kind):
    """A wrong base URL answers with a web server's HTML page: the admin saw "<!doctype html>..." in
    the connection test."""
    import types

    plugin = _rendered(kind)
    page = types.SimpleNamespace(status_code=404, headers={"Content-Type": "text/html"},
                                 text="<!doctype html><html><body><h1>Not Found</h1></body></html>")
    ctx = types.SimpleNamespace(settings={"base_url": "http://vendor.test"}, secrets={"api_key": "k"},
                                http=types.SimpleNamespace(request=lambda *args, **kwargs: page))
    with pytest.raises(Exception) as caught:
        plugin["_api"](ctx, "GET", "/things")
    assert "<" not in str(caught.value) and "an HTML page, not its API's JSON" in str(caught.value)


@pytest.mark.parametrize("kind", ["assessment", "source"])
def test_the_rendered_plugins_refuse_an_unusable_base_url(kind):
    from marshmallow import ValidationError

    settings = _rendered(kind)["Settings"]
    with pytest.raises(ValidationError) as caught:
        settings().load({"base_url": "http://vendor.test?x=1", "api_key": "k", "webhook_secret": "s"})
    assert list(caught.value.messages) == ["base_url"]
