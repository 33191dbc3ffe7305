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


def _refusal(plugin: dict, body: bytes, invitations=()):
    """The ``WebhookRejected`` the plugin's ``verify_webhook`` raises for ``body``, signed right, in
    a hub holding ``invitations``."""
    import hashlib
    import hmac
    import types

    from hub.entities import WebhookRequest
    from hub.errors import WebhookRejected
    from hub.store.models import utcnow

    known = {invitation.id: invitation for invitation in invitations}
    ctx = types.SimpleNamespace(secrets={"webhook_secret": "secret"}, plugin_name="acme",
                                invitations=types.SimpleNamespace(get=known.get))
    signature = hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    request = WebhookRequest(body=body, headers={"X-Signature": signature}, received_at=utcnow(),
                             remote_addr="127.0.0.1")
    with pytest.raises(WebhookRejected) as caught:
        plugin["verify_webhook"](ctx, request)
    return caught.value


@pytest.mark.parametrize("kind", ["assessment", "source"])
def test_rendered_plugins_refuse_a_signed_webhook_without_a_usable_event_id(kind):
    """The hub needs an event id to deduplicate (an empty one is a plugin bug, answered 500): the
    generated plugin answers 422 first."""
    plugin = _rendered(kind)
    for body in (b'{"id": "", "type": "completed"}', b'{"type": "completed"}', b'{"id": 7}'):
        refusal = _refusal(plugin, body)
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
    tests = subprocess.run([str(venv / "bin/python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            str(target / "tests")], capture_output=True, text=True, env=env, cwd=target, timeout=300)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert " passed" in tests.stdout and "failed" not in tests.stdout


@pytest.mark.parametrize("kind", ["assessment", "source"])
@pytest.mark.parametrize("status, headers, error, retry_after", [
    (401, {}, "NeedsReauthorization", None),
    (403, {}, "NeedsReauthorization", None),
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
    assert type(caught.value).__name__ == error and "answered %d: nope" % status in str(caught.value)
    assert getattr(caught.value, "retry_after", None) == retry_after
    assert plugin["_api"](ctx, "GET", "/things", allow=(status,)) is answer
