"""A plugin developer's mistakes, said plainly by the hub (the engine, plugin loading and the test
kit; the pages' and the webhook ingress's are in ``tests/web/test_plugin_mistakes_web.py``):

* ``reconcile`` returning a bare event (an ``AssessmentResult``) instead of an ``InboundEvent``
  failed with "'AssessmentResult' object has no attribute 'external_id'" in the log;
* a hook implementation with an argument its hook does not have (``context`` for ``ctx``) stopped
  ``hub plugins list`` and start-up with pluggy's ``PluginValidationError`` text, naming the
  plugin object;
* ``ProviderHub.invitation()`` with no invitation raised "not enough values to unpack", and
  ``ProviderHub.deliveries()`` gave counts only, so a test could not show why a delivery retries.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from marshmallow import Schema, fields

from hub import hookimpl
from hub.engine.sweeper import reconcile_all
from hub.entities import ASSESSMENT, AssessmentResult, InboundEvent, IntegrationSpec
from hub.errors import TemporaryError
from hub.plugins.manager import PluginLoadError, build_registry
from hub.runtime import get_runtime
from hub.testing import ProviderHub, RecordingSource
from tests.support.engine import enable

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- reconcile


class Reconciles:
    """An assessment plugin whose ``reconcile`` returns ``answer``."""

    def __init__(self, answer):
        self.answer = answer

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Acme"))

    @hookimpl
    def reconcile(self, ctx):
        return self.answer


def _reconcile_warnings(make_app, caplog, answer) -> tuple[int, list[str]]:
    app = make_app(plugins=[("acme", Reconciles(answer))], entry_points=False)
    enable(app, "acme")
    with app.app_context(), caplog.at_level(logging.WARNING, logger="hub.engine.sweeper"):
        found = reconcile_all(get_runtime())
    return found, [r.getMessage() for r in caplog.records if r.name == "hub.engine.sweeper"]


def test_a_bare_event_from_reconcile_is_said_to_be_one(make_app, caplog):
    found, said = _reconcile_warnings(make_app, caplog, [AssessmentResult(invitation_id=1, score=1, max_score=2)])
    assert found == 0
    assert said == ["reconcile of acme in workspace 1 failed: it returned an AssessmentResult where an InboundEvent "
                    "belongs: reconcile must return InboundEvent items, each wrapping one event with its stable "
                    "external_id (InboundEvent(external_id=..., event=...)); none of its events was ingested"]
    assert "has no attribute" not in said[0]


def test_reconcile_answers_that_are_no_list_of_inbound_events_are_said_in_words(make_app, caplog):
    found, said = _reconcile_warnings(make_app, caplog, AssessmentResult(invitation_id=1, score=1, max_score=2))
    assert found == 0 and said == [
        "reconcile of acme in workspace 1 failed: it returned an AssessmentResult, not a list: reconcile must return "
        "a list of InboundEvent items (InboundEvent(external_id=..., event=...))"]


def test_an_inbound_event_of_something_else_than_a_hub_event_is_said_too(make_app, caplog):
    found, said = _reconcile_warnings(make_app, caplog, [InboundEvent(external_id="e-1", event={"score": 1})])
    assert found == 0 and said == [
        "reconcile of acme in workspace 1 failed: it returned an InboundEvent whose event is a dict, not one of the "
        "hub's events (hub.entities); none of its events was ingested"]


def test_a_bug_in_reconcile_is_logged_with_its_type_and_traceback(make_app, caplog):
    class Buggy(Reconciles):
        @hookimpl
        def reconcile(self, ctx):
            return [{}["base_url"]]

    app = make_app(plugins=[("acme", Buggy(None))], entry_points=False)
    enable(app, "acme")
    with app.app_context(), caplog.at_level(logging.WARNING, logger="hub.engine.sweeper"):
        assert reconcile_all(get_runtime()) == 0
    (record,) = [r for r in caplog.records if r.name == "hub.engine.sweeper"]
    assert record.getMessage() == "reconcile of acme in workspace 1 failed: KeyError: 'base_url'"
    assert record.exc_info is not None  # where the bug is


def test_unreadable_secrets_are_one_line_without_a_traceback(make_app, caplog):
    """This process's keys cannot read the stored secrets: the same at every run (every few
    minutes), and not a bug: the message says what to do, a traceback would only bury it."""
    from hub.store.crypto import UNREADABLE, SecretsUnreadable

    class Unreadable(Reconciles):
        @hookimpl
        def reconcile(self, ctx):
            raise SecretsUnreadable(UNREADABLE)

    app = make_app(plugins=[("acme", Unreadable(None))], entry_points=False)
    enable(app, "acme")
    with app.app_context(), caplog.at_level(logging.WARNING, logger="hub.engine.sweeper"):
        assert reconcile_all(get_runtime()) == 0
    (record,) = [r for r in caplog.records if r.name == "hub.engine.sweeper"]
    assert record.getMessage() == f"reconcile of acme in workspace 1 failed: {UNREADABLE}"
    assert record.exc_info is None


# --------------------------------------------------------------------------- plugin loading


class Misnamed:
    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Acme"))

    @hookimpl
    def list_assessments(self, context):
        return []


MISNAMED = ("plugin 'acme': list_assessments(context) names an argument the hook does not have (context); its "
            "arguments are (ctx). Name each argument exactly as its hook does, or leave it out (the hooks' "
            "arguments: hub/hookspecs.py, docs/plugin-guide.md)")


def test_an_argument_the_hook_does_not_have_is_named_with_the_hooks_arguments():
    with pytest.raises(PluginLoadError) as caught:
        build_registry(extra_plugins=[("acme", Misnamed())], use_entry_points=False)
    assert str(caught.value) == MISNAMED


def test_every_wrong_argument_of_every_hook_is_named():
    class TwoWrong(Misnamed):
        @hookimpl
        def reconcile(self, ctx, since, workspace):
            return []

    with pytest.raises(PluginLoadError) as caught:
        build_registry(extra_plugins=[("acme", TwoWrong())], use_entry_points=False)
    said = str(caught.value)
    assert ("list_assessments(context) names an argument the hook does not have (context); its arguments are "
            "(ctx)") in said
    assert ("reconcile(ctx, since, workspace) names arguments the hook does not have (since, workspace); its "
            "arguments are (ctx)") in said


def test_another_validation_error_of_pluggy_is_one_line_naming_the_plugin():
    class NotAGenerator(Misnamed):
        @hookimpl(hookwrapper=True)
        def list_assessments(self, ctx):
            return []

    with pytest.raises(PluginLoadError) as caught:
        build_registry(extra_plugins=[("acme", NotAGenerator())], use_entry_points=False)
    said = str(caught.value)
    assert said.startswith("plugin 'acme' cannot be registered: ") and "\n" not in said
    assert "not a generator function" in said


def test_an_argument_with_a_default_is_not_blamed_for_another_error():
    """pluggy accepts an argument with a default (the plugin's own, never passed): the message must
    name the real error, not that argument."""
    class WrapperAndDefault(Misnamed):
        @hookimpl(hookwrapper=True)
        def list_assessments(self, ctx):
            return []

        @hookimpl
        def reconcile(self, ctx, verbose=False):
            return []

    with pytest.raises(PluginLoadError) as caught:
        build_registry(extra_plugins=[("acme", WrapperAndDefault())], use_entry_points=False)
    said = str(caught.value)
    assert "not a generator function" in said and "verbose" not in said


def test_hub_plugins_list_stops_as_before_with_the_clear_message(tmp_path):
    """Start-up still stops (the plugin is not skipped), with the message in one line."""
    (tmp_path / "acme_misnamed.py").write_text(textwrap.dedent("""
        from hub import hookimpl
        from hub.entities import ASSESSMENT, IntegrationSpec

        @hookimpl
        def register_integration(register):
            register(IntegrationSpec(kind=ASSESSMENT, title="Acme"))

        @hookimpl
        def list_assessments(context):
            return []
    """))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
           "HUB_INSTANCE_PATH": str(tmp_path / "instance"), "HUB_PLUGINS": "acme",
           "HUB_EXTRA_PLUGIN_MODULES": "acme=acme_misnamed"}
    done = subprocess.run([sys.executable, "-m", "hub", "plugins", "list"], env=env, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.strip() == f"Error: {MISNAMED}"


# --------------------------------------------------------------------------- the test kit

ATTACHMENT = {"posting_id": "posting-1", "posting_name": "Backend Engineer", "stage_id": "stage-test",
              "stage_name": "Test stage", "assessment_id": "python", "assessment_name": "Python"}


class DownSettings(Schema):
    api_key = fields.String(required=True)


class VendorDown:
    """An assessment plugin whose vendor is down: every stage change is retried."""

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Down", settings_schema=DownSettings,
                                 secret_fields=("api_key",)))

    @hookimpl
    def on_stage_change(self, ctx, change):
        raise TemporaryError("Down answered 503: try again later")


@pytest.fixture
def hub(make_app):
    source = RecordingSource()
    app = make_app(plugins=[("down", VendorDown()), ("fakesource", source)], entry_points=False)
    with ProviderHub.serve(app, "down", source, settings={"api_key": "key-1"}, attachment=ATTACHMENT) as served:
        yield served


def test_invitation_without_one_says_so(hub):
    with pytest.raises(AssertionError) as caught:
        hub.invitation()
    assert str(caught.value).startswith("no invitation yet")
    assert "unpack" not in str(caught.value)


def test_a_test_can_read_why_a_delivery_is_retrying(hub):
    hub.move("opp-1")
    assert hub.deliveries() == {"retry": 1}  # unchanged: status -> count
    (delivery,) = hub.delivery_list()
    assert (delivery.hook, delivery.event_type, delivery.status, delivery.attempts) == (
        "on_stage_change", "stage_change", "retry", 1)
    assert "Down answered 503: try again later" in delivery.last_error
    assert delivery.next_attempt_at is not None
    assert "Down answered 503" in repr(hub.delivery_list())  # what an assertion's message shows
    assert hub.delivery_list("fakesource") == []


def test_the_kit_documents_delivery_list():
    import hub.testing.provider_hub as provider_hub

    guide = (ROOT / "docs" / "plugin-guide.md").read_text()
    assert "``delivery_list(plugin=None)``" in provider_hub.__doc__ and "no invitation yet" in provider_hub.__doc__
    kit = guide[guide.index("\n## The test kit (`hub.testing`)\n"):guide.index("\n## How the hub calls hooks\n")]
    assert "`delivery_list(plugin=None)`" in kit and "`last_error`" in kit and '"no invitation yet"' in kit
