"""A vendor's developer followed docs/plugin-guide.md from scratch: `hub new-plugin quizly --kind
assessment`, the plugin made their vendor's (its own API, error format and signature), installed in
an environment of its own, its tests run, then `hub demo` and an instance of their own. What they
met, each now fixed and kept so here:

* an API key pasted with its line break was stored as typed (``fields.Str``, where the guide says
  ``PlainText``), and every call then failed with requests' ``InvalidHeader``, whose text quotes the
  header: the secret key was shown on the integration page as its status and written to the log;
* the vendor's own JSON error ("invalid API key") was reported as "JSON that is not its API's
  error ... check the API base URL";
* an integration enabled before its settings were saved failed as "Quizly failed: 'base_url'" (a
  ``KeyError``);
* after `hub demo` the new plugin was "Enabled", never "Connected" (its ``connect_sandbox`` set no
  status, the bundled plugins' do), and had no description on the Integrations list;
* "Quizly is connected: 1 assessments";
* a generated hook test whose invitation failed waited 5 seconds and said only "timed out waiting
  for the invitation", hiding the failure reason the hub had recorded;
* the guide: "try it in the hub, from the plugin's environment" without the command (the hub's own
  `hub` has no such plugin), the demo's instance not the one `hub init` made, its tutorial declaring
  the API key ``fields.Str``, nothing on hook arguments named otherwise than the hook's or on a
  hook returning the wrong type, ``description`` never named.
"""

import logging
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
import requests
from marshmallow import ValidationError

from hub.cli.scaffold import render_plugin
from hub.errors import HubError, NeedsReauthorization, PermanentError

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "plugin-guide.md").read_text()
KINDS = ["assessment", "source"]


def _section(title: str) -> str:
    start = GUIDE.index(f"\n## {title}\n")
    end = GUIDE.find("\n## ", start + 1)
    return GUIDE[start:end if end != -1 else None]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _module(kind: str, path: str) -> dict:
    names: dict = {"__name__": f"walkthrough_{kind}_{Path(path).parent.name}"}  # Flask(__name__) needs one
    exec(compile(render_plugin("acme", kind)[path], path, "exec"), names)
    return names


def _plugin(kind: str) -> dict:
    return _module(kind, "ats_hub_acme/__init__.py")


def _ctx(answer=None, *, settings=None, secrets=None, http=None):
    return types.SimpleNamespace(
        settings={"base_url": "http://vendor.test"} if settings is None else settings,
        secrets={"api_key": "k"} if secrets is None else secrets,
        http=http or types.SimpleNamespace(request=lambda *args, **kwargs: answer))


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize("kind", KINDS)
def test_a_pasted_key_loses_its_line_break_and_a_control_character_is_refused(kind):
    settings = _plugin(kind)["Settings"]
    loaded = settings().load({"base_url": "http://vendor.test", "api_key": " key-1\n", "webhook_secret": "whsec\r\n"})
    assert (loaded["api_key"], loaded["webhook_secret"]) == ("key-1", "whsec")
    with pytest.raises(ValidationError) as caught:
        settings().load({"base_url": "http://vendor.test", "api_key": "key\x01-1", "webhook_secret": "s"})
    assert list(caught.value.messages) == ["api_key"] and "U+0001" in str(caught.value.messages)
    # a new key takes "Connected" back to "not tested yet", as a new base URL does
    assert settings._declared_fields["api_key"].metadata.get("connection") is True


@pytest.mark.parametrize("kind", KINDS)
def test_a_key_no_header_can_carry_is_never_quoted(kind):
    """Stored before (or by a ``connect_sandbox``): requests refuses the header, quoting its value."""
    plugin = _plugin(kind)
    ctx = _ctx(settings={"base_url": "http://127.0.0.1:9"}, secrets={"api_key": "secret-key-1\n"},
               http=requests.Session())
    with pytest.raises(NeedsReauthorization) as caught:
        plugin["_api"](ctx, "GET", "/things")
    assert "secret-key-1" not in str(caught.value) and "enter it again" in str(caught.value)


@pytest.mark.parametrize("kind", KINDS)
def test_settings_never_saved_are_said_in_words(kind):
    plugin = _plugin(kind)
    with pytest.raises(PermanentError) as caught:
        plugin["_api"](_ctx(settings={}, secrets={}), "GET", "/things")
    assert str(caught.value) == ("Acme has no base URL and API key yet: enter its settings on its integration page "
                                 "(Integrations)")
    with pytest.raises(HubError) as shown:  # "Test connection", the attach page's list: the same words
        plugin["test_connection"](_ctx(settings={"base_url": "http://vendor.test"}, secrets={}))
    assert shown.value.message == "Acme has no API key yet: enter its settings on its integration page (Integrations)"
    assert str(caught.value) in _flat(GUIDE)  # the guide quotes it


# ---------------------------------------------------------------- the vendor's errors


@pytest.mark.parametrize("kind", KINDS)
def test_the_vendors_own_error_is_quoted_not_called_a_wrong_base_url(kind):
    plugin = _plugin(kind)
    refused = types.SimpleNamespace(status_code=401, headers={"Content-Type": "application/json"},
                                    text='{"error": "invalid API key"}')
    with pytest.raises(NeedsReauthorization) as caught:
        plugin["_api"](_ctx(refused), "GET", "/assessments")
    assert str(caught.value) == "Acme answered 401 Unauthorized to GET /assessments: “invalid API key”"
    if kind == "assessment":
        assert str(caught.value) in _flat(GUIDE)
    # another service's JSON (a wrong base URL) is still named as such
    other = types.SimpleNamespace(status_code=404, headers={"Content-Type": "application/json"},
                                  text='{"message": "no route"}')
    with pytest.raises(PermanentError) as caught:
        plugin["_api"](_ctx(other), "GET", "/assessments")
    assert "JSON that is not its API's error" in str(caught.value)


def test_the_assessment_sandbox_refuses_a_call_without_its_api_key():
    sandbox = _module("assessment", "ats_hub_acme/sandbox/__init__.py")
    client = sandbox["create_sandbox_app"]().test_client()
    refused = client.get("/assessments")
    assert refused.status_code == 401 and refused.get_json() == {"error": "invalid API key"}
    assert client.get("/assessments", headers={"Authorization": f"Bearer {sandbox['API_KEY']}"}).status_code == 200
    assert client.post("/_sandbox/config", json={"webhook_url": "http://hub.test/w"}).status_code == 200
    assert 'ctx.update_secrets({"api_key": "sandbox-key"' in render_plugin("acme", "assessment")[
        "ats_hub_acme/__init__.py"] and sandbox["API_KEY"] == "sandbox-key"


# ---------------------------------------------------------------- the demo's integration page


@pytest.mark.parametrize("kind, connected", [("assessment", " (1 assessment); its webhooks go to http://hub.test/"),
                                             ("source", " (1 posting)")])
def test_connect_sandbox_tests_the_connection_and_says_connected(kind, connected):
    sandbox = _module(kind, "ats_hub_acme/sandbox/__init__.py")
    url, stop = sandbox["serve_in_thread"]()
    settings, secrets, statuses = {}, {}, []
    ctx = types.SimpleNamespace(settings=settings, secrets=secrets, update_settings=settings.update,
                                update_secrets=secrets.update, http=requests.Session(),
                                webhook_url="http://hub.test/webhooks/acme/key",
                                set_status=lambda status, message: statuses.append((status, message)))
    try:
        message = _plugin(kind)["connect_sandbox"](ctx, url)
    finally:
        stop()
    assert message.startswith(f"connected to {url}{connected}") and statuses == [("connected", message)]


@pytest.mark.parametrize("kind, listed", [("assessment", "assessment"), ("source", "posting")])
def test_one_is_not_said_as_many(kind, listed):
    one = types.SimpleNamespace(status_code=200, headers={}, text="[...]", json=lambda: [{"id": "a"}])
    assert _plugin(kind)["test_connection"](_ctx(one)) == f"Acme is connected: 1 {listed}"


@pytest.mark.parametrize("kind", KINDS)
def test_the_integration_has_a_description(kind):
    specs: list = []
    _plugin(kind)["register_integration"](specs.append)
    (spec,) = specs
    assert spec.description and "Acme" in spec.description and "TODO" not in spec.description


# ---------------------------------------------------------------- the generated hook tests


def test_an_invitation_that_failed_is_said_at_once_with_its_reason(tmp_path):
    target = tmp_path / "ats-hub-acme"
    for relative, text in render_plugin("acme", "assessment").items():
        if relative == "ats_hub_acme/sandbox/__init__.py":  # the vendor refuses the invitation
            old = "        body = request.get_json(force=True)\n        with lock:\n"
            assert text.count(old) == 1
            refused = '        return jsonify({"error": "no such assessment"}), 400\n        with lock:\n'
            text = text.replace(old, refused)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(target), HUB_EXTRA_PLUGIN_MODULES="acme=ats_hub_acme")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_hooks.py",
                          "-k", "invited_once"], capture_output=True, text=True, env=env, cwd=target, timeout=180)
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert ("the invitation is 'failed', not 'invited': Acme answered 400 Bad Request to POST /invitations: "
            "“no such assessment”") in output
    assert "timed out" not in output


# ---------------------------------------------------------------- the guide


def test_the_guide_runs_the_plugins_own_hub_and_says_where_the_demo_keeps_its_data(runner):
    first = _flat(_section("Your first plugin"))
    assert "ats-hub-acme/.venv/bin/hub demo" in first and "ats-hub-acme/.venv/bin/hub init" in first
    demo_help = _flat(runner.invoke(args=["demo", "--help"]).output)
    assert "default: <HUB_INSTANCE_PATH>/demo, ./instance/demo when HUB_INSTANCE_PATH is unset" in demo_help
    assert "default `<HUB_INSTANCE_PATH>/demo`, `./instance/demo` when `HUB_INSTANCE_PATH` is unset" in first
    assert "(`HUB_INSTANCE_PATH`, default `./instance` in the current directory)" in first


def test_the_guide_tells_which_generated_tests_hold_the_sandboxs_wire_format():
    files = render_plugin("acme", "assessment")
    first = _flat(_section("Your first plugin"))
    assert "ATTACHMENT" in files["tests/conftest.py"] and "def at_vendor(" in files["tests/conftest.py"]
    assert '"score": "7"' in files["tests/test_hooks.py"] and '"score": "6"' in files["tests/test_cancel.py"]
    for named in ("`ATTACHMENT`'s `assessment_id` in `tests/conftest.py`", "`at_vendor` fixture",
                  "form field (`score`) in `tests/test_hooks.py` and `tests/test_cancel.py`"):
        assert named in first, named


def test_the_guides_tutorial_declares_the_key_as_its_advice_says():
    tutorial = _section("Tutorial: a minimal assessment provider")
    code = re.search(r"```python\n(.*?)```", tutorial, re.S).group(1)
    names: dict = {}
    exec(compile(code, "tutorial", "exec"), names)
    assert names["Settings"]().load({"api_key": " key-1\n"}) == {"api_key": "key-1"}


def test_the_guide_and_hookspecs_say_hook_arguments_are_named_as_the_hooks(monkeypatch):
    from hub import hookimpl, hookspecs
    from hub.entities import ASSESSMENT, IntegrationSpec
    from hub.plugins.manager import PluginLoadError, build_registry

    class Misnamed:
        @hookimpl
        def register_integration(self, register):
            register(IntegrationSpec(kind=ASSESSMENT, title="Acme"))

        @hookimpl
        def list_assessments(self, context):
            return []

    # the hub's message (it was pluggy's PluginValidationError), quoted by the guide
    with pytest.raises(PluginLoadError) as caught:
        build_registry(extra_plugins=[("acme", Misnamed())], use_entry_points=False)
    said = "list_assessments(context) names an argument the hook does not have (context); its arguments are (ctx)"
    assert said in str(caught.value)
    assert f'("{caught.value}")' in _flat(GUIDE)
    assert "(`ctx`, not `context`)" in GUIDE and "(``ctx``, not\n``context``)" in hookspecs.__doc__
    assert said in " ".join(hookspecs.__doc__.split())  # the contract's docstring quotes it too


def test_the_guide_says_what_a_wrong_return_value_does(tmp_path, caplog):
    """Each message the guide quotes is the one the hub gives."""
    import sqlalchemy as sa

    from hub import hookimpl, hookspecs
    from hub.engine.sweeper import reconcile_all
    from hub.entities import ASSESSMENT, AssessmentResult, IntegrationSpec
    from hub.extensions import db
    from hub.runtime import get_runtime
    from hub.store.models import User
    from hub.testing import enable_plugins, make_test_app
    from tests.support.engine import api_client

    class Wrong:
        @hookimpl
        def register_integration(self, register):
            register(IntegrationSpec(kind=ASSESSMENT, title="Acme"))

        @hookimpl
        def list_assessments(self, ctx):
            return [{"id": "a", "name": "A"}]

        @hookimpl
        def verify_webhook(self, ctx, request):
            return []

        @hookimpl
        def reconcile(self, ctx):
            return [AssessmentResult(invitation_id=1, score=1, max_score=2)]

    app = make_test_app(tmp_path, {"PLUGINS": "acme"}, plugins=[("acme", Wrong())], entry_points=False)
    key = enable_plugins(app, "acme")["acme"]
    guide = _flat(_section("How the hub calls hooks"))

    answer = app.test_client().post(f"/webhooks/acme/{key}", data=b"{}")
    assert answer.status_code == 500
    assert f'answers the sender 500 ("{answer.get_json()["error"]["message"]}")' in guide
    assert "is a bug in the plugin: the sender gets a JSON 500" in _flat(hookspecs.verify_webhook.__doc__)

    with app.app_context():
        from hub import services

        services.create_user(1, "owner@walkthrough.test", "super_admin", password="a-long-password-1")
        db.session.commit()
        assert db.session.scalar(sa.select(User.id).where(User.email == "owner@walkthrough.test"))
    errors = api_client(app, "owner@walkthrough.test")("GET", "/assessments").get_json()["errors"]
    assert errors == ["Acme failed: it returned dict items, not Assessment"]
    assert f'fail the page\'s call ("{errors[0]}")' in guide

    with app.app_context(), caplog.at_level(logging.WARNING):
        reconcile_all(get_runtime())
    (warning,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("reconcile of acme")]
    assert f'with only a warning in the log ("{warning}")' in guide
    assert "a bare ``AssessmentResult`` fails the run" in _flat(hookspecs.reconcile.__doc__)


def test_the_guide_names_description_and_connect_sandboxs_status():
    from hub import hookspecs

    registration = _flat(GUIDE[GUIDE.index("#### `register_integration("):GUIDE.index("### Webhook ingress")])
    assert "`description` is one sentence on what the plugin does" in registration and "`version`" in registration
    assert "``description`` is one sentence" in _flat(hookspecs.register_integration.__doc__)
    assert 'ctx.set_status("connected", message)' in _flat(hookspecs.connect_sandbox.__doc__)
    assert "Integrations shows Acme \"Connected\"" in _flat(_section("Your first plugin"))
