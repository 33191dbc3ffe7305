"""Reusable contract tests for plugins. Subclass ``AssessmentPluginContract`` or
``SourcePluginContract`` in your plugin's tests (class name starting with ``Test``), set
``plugin_name``, and implement ``signed_webhook``. Tests that need the vendor run against the
plugin's own sandbox (``register_sandbox`` + ``connect_sandbox``).

A provider's ``signed_webhook`` may name an invitation the hub made (a completion refers to one):
``self.make_invitation(ctx, assessment_id=..., provider_invitation_id=..., status="invited")``
attaches that assessment to the kit's stage of the kit's posting (once) and returns the
``hub.entities.Invitation`` of a kit candidate in that status, whose ``external_reference`` and
``provider_invitation_id`` the webhook can carry. See ``AssessmentPluginContract.make_invitation``.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import shlex
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from hub import hookimpl
from hub.entities import (
    ASSESSMENT, EVENT_TYPES, INVITATION_STATUSES, PLUGIN_KINDS, SOURCE, ArchiveChange, Assessment, Attachment,
    AssessmentResult, Candidate, CandidateDeleted, CandidateHired, HubEvent, InboundEvent, IntegrationSpec, Invitation,
    Posting, Stage, StageCandidate, StageChange, WebhookRequest, WebhookResult,
)
from hub.errors import WebhookRejected
from hub.words import with_article

PUBLIC_MODULES = {"hub", "hub.entities", "hub.errors", "hub.hookspecs", "hub.context", "hub.testing",
                  "hub.kit", "hub.kit.provider", "hub.kit.webhook_secrets", "hub.kit.json_body",
                  "hub.kit.retry_after", "hub.kit.vendor_http",
                  "hub.kit.sandbox", "hub.kit.sandbox.faults", "hub.kit.sandbox.webhooks", "hub.kit.sandbox.server"}
# What a sandbox (a stand-alone simulator of a vendor) may import of the hub: the sandbox kit only.
SANDBOX_MODULES = {"hub.kit.sandbox", "hub.kit.sandbox.faults", "hub.kit.sandbox.webhooks", "hub.kit.sandbox.server"}
KIT_SOURCE = "kit-source"
KIT_PROVIDER = "kit-provider"
KIT_POSTING, KIT_STAGE = "kit-posting", "kit-stage"  # KitSource's one posting and its one stage
UNKNOWN_SETTING = "certainly_not_a_setting"  # a field no settings schema declares
EXTRA_MODULES_VARIABLE = "HUB_EXTRA_PLUGIN_MODULES"  # plugins loaded without installing them (development)
# the events that name a candidate by opportunity id (a source's webhooks)
OPPORTUNITY_EVENTS = (StageChange, ArchiveChange, CandidateDeleted, CandidateHired)


def hub_imports(path: Path) -> set[str]:
    """The ``hub`` modules a Python file imports (``from hub import hookimpl`` counts as ``hub``)."""
    tree = ast.parse(Path(path).read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "hub"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "hub":
            if node.module == "hub":
                found |= {"hub" if a.name in {"hookimpl", "__version__"} else f"hub.{a.name}" for a in node.names}
            else:
                found.add(node.module)
    return found


def check_stage_candidates(found, limit: int) -> list[str]:
    """What ``source_list_stage_candidates`` must return (its hookspec): a list or tuple of
    opportunity ids (non-empty strings) or of ``StageCandidate`` (a non-empty ``opportunity_id``;
    ``name`` a str, ``profile_url`` None or a str), no id twice, at most ``limit`` of them.
    Returns the ids; fails the test with what is wrong otherwise."""
    assert isinstance(found, (list, tuple)), \
        f"source_list_stage_candidates returned {type(found).__name__}, not a list"
    ids = [item.opportunity_id if isinstance(item, StageCandidate) else item for item in found]
    wrong = [item for item, key in zip(found, ids) if not isinstance(key, str) or not key]
    assert not wrong, ("source_list_stage_candidates returned items that are neither opportunity ids nor "
                       f"StageCandidate with one: {wrong[:5]!r}")
    badly_named = [item for item in found if isinstance(item, StageCandidate) and (
        not isinstance(item.name, str) or not (item.profile_url is None or isinstance(item.profile_url, str)))]
    assert not badly_named, ("source_list_stage_candidates returned a StageCandidate whose name is not a str or "
                             f"whose profile_url is neither None nor a str: {badly_named[:5]!r}")
    assert len(found) <= limit, f"source_list_stage_candidates returned {len(found)} ids for a limit of {limit}"
    assert len(set(ids)) == len(ids), "source_list_stage_candidates returned an id twice"
    return ids


def check_event_ids(event: HubEvent) -> HubEvent:
    """An event naming a candidate (``StageChange``, ``ArchiveChange``, ``CandidateDeleted``,
    ``CandidateHired``) names one: its ``opportunity_id`` is a non-empty string, not ``"None"``
    (``str()`` of a field the webhook lacked), and a ``StageChange``'s ``to_stage_id`` is a string,
    empty when the webhook names no stage, never ``"None"``. Returns ``event``; fails the test with
    what is wrong otherwise."""
    if not isinstance(event, OPPORTUNITY_EVENTS):
        return event
    kind = type(event).__name__
    opportunity_id = event.opportunity_id
    assert isinstance(opportunity_id, str) and opportunity_id and opportunity_id != "None", (
        f"verify_webhook made {event!r}: {kind}.opportunity_id is {opportunity_id!r}. Give it the candidate's "
        f"opportunity id from the webhook (a non-empty string), and refuse a webhook without one with "
        f"WebhookRejected(..., status=422) naming the field (str() of a missing value is 'None')")
    if isinstance(event, StageChange):
        assert isinstance(event.to_stage_id, str) and event.to_stage_id != "None", (
            f"verify_webhook made {event!r}: StageChange.to_stage_id is {event.to_stage_id!r}. Give it the stage "
            f"the webhook names, or \"\" when it names none (the candidate's current stage); str() of a missing "
            f"value is 'None'")
    return event


def _check_assessments(found) -> list[Assessment]:
    """What ``list_assessments`` must return: a list of ``hub.entities.Assessment`` (the hub's
    pages refuse anything else, saying "it returned dict items, not Assessment"). Returns them as a
    list; fails the test naming the wrong type otherwise."""
    items = list(found or [])
    wrong = next((item for item in items if not isinstance(item, Assessment)), None)
    if wrong is not None:
        pytest.fail(f"list_assessments returned {type(wrong).__name__} items, not Assessment (the first: {wrong!r}): "
                    f"return a list of hub.entities.Assessment(id=..., name=...), one per assessment the vendor "
                    f"offers", pytrace=False)
    return items


def _describe_tampering(valid: WebhookRequest, tampered: WebhookRequest) -> str:
    """A few words on how ``tampered`` differs from ``valid``, to name it in a failure."""
    changes = []
    if tampered.body != valid.body:
        changes.append("body truncated" if valid.body.startswith(tampered.body) else "body changed")
    if dict(tampered.headers) != dict(valid.headers):
        changes.append("headers changed")
    if tampered.received_at != valid.received_at:
        changes.append(f"received {tampered.received_at - valid.received_at} later: refuse a stale timestamp")
    return ", ".join(changes) or "as sent"


def _extra_modules_said(name: str) -> str:
    """What ``HUB_EXTRA_PLUGIN_MODULES`` did about plugin ``name``, for the kit's "not installed"
    failure: unset, or set without it."""
    value = os.environ.get(EXTRA_MODULES_VARIABLE, "").strip()
    if not value:
        return f", and {EXTRA_MODULES_VARIABLE} is not set"
    return f", and {EXTRA_MODULES_VARIABLE} ({value!r}) loads none of that name"


def _installed_said(exc: Exception) -> str:
    """The plugins the hub found, from its "not installed" error (whose advice the kit's message
    gives already), or that error itself when it names none."""
    found = re.search(r"\(installed: ([^)]*)\)", str(exc))
    return f"Plugins found: {found.group(1)}." if found else f"The hub said: {exc}"


def _ways_to_load(name: str) -> str:
    """The two ways to have the kit's hub load plugin ``name`` (docs/plugin-guide.md, "Your first
    plugin"; ``hub new-plugin`` prints both): installed in a virtual environment of the plugin's
    own, or, without installing it, given by ``HUB_EXTRA_PLUGIN_MODULES``."""
    from hub.cli.scaffold import hub_requirement

    python = shlex.quote(os.path.abspath(sys.executable))  # this one has the hub (``hub new-plugin`` says the same)
    return (f"(1) in a virtual environment of the plugin's own, install the hub and the plugin there (from the "
            f"plugin's directory: pip install {hub_requirement()} -e '.[test]'); or (2) without installing it, "
            f"as in the environment the hub is developed or run from (installed there, the plugin would load in "
            f"every hub command and test run), from the plugin's directory: PYTHONPATH=. "
            f"{EXTRA_MODULES_VARIABLE}={name}=PACKAGE {python} -m pytest tests, PACKAGE being the module your entry "
            f"point names (hub new-plugin's is ats_hub_{name})")


def _check_connected_settings(spec: IntegrationSpec, settings, secrets, plugin_name: str) -> None:
    """The settings and secrets ``connect_sandbox`` stored load under the plugin's
    ``settings_schema``, as an admin's save of them would (every required field there, each value
    valid); fails the test naming each field and what the schema said otherwise. Secrets the
    schema does not declare (an OAuth token) are left out of the load."""
    from marshmallow import ValidationError

    if spec.settings_schema is None:
        return
    schema = spec.settings_schema()
    try:
        schema.load({**settings, **{key: value for key, value in secrets.items() if key in schema.fields}})
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    else:
        return
    problems = "; ".join(f"{field}: {_said(said)}" for field, said in messages.items())
    fields_named = [field for field in messages if field in schema.fields]
    plain = [field for field in fields_named if field not in spec.secret_fields]
    secret = [field for field in fields_named if field in spec.secret_fields]
    how = "; ".join([*([f"ctx.update_settings({{...}}) for {', '.join(plain)}"] if plain else []),
                     *([f"ctx.update_secrets({{...}}) for {', '.join(secret)}"] if secret else [])])
    pytest.fail(
        f"the settings {plugin_name}'s connect_sandbox stored do not load under its settings schema "
        f"{spec.settings_schema.__name__}: {problems}. connect_sandbox must store each of them, valid"
        f"{f' ({how})' if how else ''}, as an admin would on the integration page, or the hooks fail on them "
        f"later. It stored the settings {', '.join(sorted(settings)) or '(none)'} and the secrets "
        f"{', '.join(sorted(secrets)) or '(none)'}", pytrace=False)


def _said(messages) -> str:
    """marshmallow's messages for a field (a list of sentences, or a dict for a nested field) as
    text, without the sentences' final periods (they are quoted inside a sentence)."""
    if isinstance(messages, (list, tuple)):
        return ", ".join(_said(message) for message in messages)
    if isinstance(messages, dict):
        return "; ".join(f"{key}: {_said(value)}" for key, value in messages.items())
    return str(messages).rstrip(".")


def _tampering_hint(valid: WebhookRequest, tampered: WebhookRequest) -> str:
    """What to check in ``verify_webhook`` so that ``tampered`` (accepted) is refused: one hint per
    way it differs from ``valid``."""
    hints = []
    if tampered.body != valid.body:
        hints.append("check the signature over the exact body bytes")
    if dict(tampered.headers) != dict(valid.headers):
        hints.append("refuse a request whose signature headers are missing or changed")
    if tampered.received_at != valid.received_at:
        hints.append("compare the signed time with request.received_at, when the hub received the request, not "
                     "with the clock, and refuse a time outside your window, e.g. 5 minutes as the scaffold does")
    return "; ".join(hints) or "it is the request as signed_webhook made it: make tampered_webhooks change it"


class KitSource:
    """A stand-in ATS for assessment plugins' contract tests: one posting, one stage, and the
    candidates put in ``candidates``."""

    def __init__(self):
        self.candidates: dict[str, Candidate] = {}

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=SOURCE, title="Kit ATS"))

    @hookimpl
    def source_get_candidate(self, ctx, opportunity_id):
        return self.candidates.get(opportunity_id)

    @hookimpl
    def source_list_postings(self, ctx):
        return [Posting(id=KIT_POSTING, title="Kit posting", state="published")]

    @hookimpl
    def source_list_stages(self, ctx, posting_id):
        return [Stage(id=KIT_STAGE, name="Kit assessment stage")]


class KitProvider:
    """A stand-in assessment provider for source plugins' contract tests."""

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Kit provider"))


class PluginContract:
    """Tests every plugin passes. Set ``plugin_name``; override ``signed_webhook`` (and
    ``tampered_webhooks`` if the vendor signs only part of the body)."""

    plugin_name: str = ""
    # False leaves the stale case out of the default ``tampered_webhooks``: only for a vendor that
    # signs no time (the plugin then cannot refuse a replayed request; say so in its docs)
    stale_webhook_case: bool = True

    # ------------------------------------------------------------------ what a subclass provides
    def signed_webhook(self, ctx) -> WebhookRequest:
        """A correctly signed webhook the vendor would send to this integration (``ctx`` is connected
        to the plugin's sandbox)."""
        raise NotImplementedError("implement signed_webhook(ctx) in your contract test class")

    def tampered_webhooks(self, ctx, valid: WebhookRequest) -> list[WebhookRequest]:
        """Variations of ``valid`` that must be rejected. Default: a byte changed in the middle of
        the body, the body truncated, the headers dropped, and (unless ``stale_webhook_case`` is
        False) the request as it was sent, received a day after ``ctx.dedupe_window``: a
        captured request replayed once the hub no longer remembers its event id, which only the
        signed timestamp's window can refuse."""
        body = bytearray(valid.body)
        middle = len(body) // 2
        body[middle] = ord("0") if body[middle] != ord("0") else ord("1")
        cases = [
            WebhookRequest(body=bytes(body), headers=valid.headers, received_at=valid.received_at),
            WebhookRequest(body=valid.body[: len(valid.body) // 2], headers=valid.headers,
                           received_at=valid.received_at),
            WebhookRequest(body=valid.body, headers={"Content-Type": "application/json"},
                           received_at=valid.received_at),
        ]
        if self.stale_webhook_case:
            cases.append(WebhookRequest(body=valid.body, headers=valid.headers, remote_addr=valid.remote_addr,
                                        received_at=valid.received_at + ctx.dedupe_window + timedelta(days=1)))
        return cases

    def extra_plugins(self) -> list[tuple[str, object]]:
        return []

    # ------------------------------------------------------------------ fixtures
    @pytest.fixture
    def kit_app(self, tmp_path):
        from hub.config import ConfigError
        from hub.testing.apps import make_test_app

        test_class = type(self).__name__
        if not self.plugin_name:
            pytest.fail(f"{test_class} sets no plugin_name: set it to your plugin's name, the name of its "
                        f"`ats_hub` entry point in pyproject.toml (e.g. plugin_name = \"acme\")", pytrace=False)
        extras = self.extra_plugins()
        allow = ",".join([self.plugin_name, *(name for name, _ in extras)])
        try:
            return make_test_app(tmp_path, {"PLUGINS": allow}, plugins=extras, entry_points=True)
        except ConfigError as exc:
            if "no plugin of that name is installed" not in str(exc):
                raise
            pytest.fail(f"{test_class}.plugin_name is {self.plugin_name!r}, but no plugin of that name is installed "
                        f"in this environment{_extra_modules_said(self.plugin_name)}. Set plugin_name to the name "
                        f"of your `ats_hub` entry point in pyproject.toml, then load the plugin one of two ways: "
                        f"{_ways_to_load(self.plugin_name)}. {_installed_said(exc)}", pytrace=False)

    @pytest.fixture
    def sandbox_url(self, kit_app):
        from hub.demo import sandbox_module, sandbox_specs
        from hub.plugins.manager import PluginLoadError
        from hub.runtime import get_runtime

        spec = sandbox_specs(get_runtime(kit_app).registry).get(self.plugin_name)
        if spec is None:
            pytest.fail(f"{self.plugin_name} registers no sandbox (register_sandbox): the kit runs its tests against "
                        f"one. Implement register_sandbox, calling register(SandboxSpec(module=...)) with a module "
                        f"of your package that offers serve_in_thread (hub new-plugin generates one to start from; "
                        f"docs/plugin-guide.md, \"Sandboxes\"), and connect_sandbox", pytrace=False)
        try:
            module, problem = sandbox_module(self.plugin_name, spec), None
        except PluginLoadError as exc:
            module, problem = None, str(exc)
        if problem is not None:  # failed outside the except: no chained traceback of the hub's
            pytest.fail(problem, pytrace=False)
        url, stop = module.serve_in_thread()
        yield url
        stop()

    @pytest.fixture
    def connected(self, kit_app, sandbox_url):
        """The app with this plugin (and the kit's stand-ins) enabled and connected to the sandbox."""
        from hub.demo import connect_workspace
        from hub.runtime import get_runtime
        from hub.testing.apps import enable_plugins

        registry = get_runtime(kit_app).registry
        if not registry.implements(self.plugin_name, "connect_sandbox"):
            pytest.fail(f"{self.plugin_name} implements no connect_sandbox: the kit needs it to connect the plugin "
                        f"to its sandbox, storing the settings and secrets an admin would", pytrace=False)
        names = [name for name in registry.names() if name != self.plugin_name]
        enable_plugins(kit_app, *names)
        with kit_app.app_context():
            runtime = get_runtime()
            connect_workspace(runtime, 1, {self.plugin_name: sandbox_url}, actor="kit")
            ctx = runtime.context(1, self.plugin_name)
            _check_connected_settings(runtime.registry.spec(self.plugin_name), ctx.settings, ctx.secrets,
                                      self.plugin_name)
        return kit_app

    def _verify_untampered(self, runtime, ctx, request: WebhookRequest, before: str = ""):
        """``verify_webhook``'s answer to ``signed_webhook``'s request; its refusal fails the test
        with what the plugin said, ``before`` naming what the check comes before."""
        try:
            return runtime.registry.call(self.plugin_name, "verify_webhook", ctx=ctx, request=request)
        except WebhookRejected as exc:
            stored = ", ".join(sorted(ctx.secrets)) or "none"
            pytest.fail(
                f"verify_webhook rejected the untampered request from signed_webhook{before}: it said {exc.message!r} "
                f"(status {exc.status}). The sample from signed_webhook must be signed with the secret the plugin "
                f"stored in ctx.secrets during connect_sandbox (its secrets there: {stored}): sign it with "
                f"ctx.secrets[...] of the ctx signed_webhook is given, not with a secret of its own. If it is signed "
                f"so, verify_webhook itself refuses a webhook the vendor would send: fix its check", pytrace=False)

    # ------------------------------------------------------------------ the tests
    def test_contract_registers_a_valid_spec(self, kit_app):
        from marshmallow import Schema

        from hub.runtime import get_runtime

        spec = get_runtime(kit_app).registry.spec(self.plugin_name)
        assert spec.kind in PLUGIN_KINDS, \
            f"IntegrationSpec.kind is {spec.kind!r}; it must be one of {sorted(PLUGIN_KINDS)}"
        assert spec.title, "IntegrationSpec.title is empty: give the integration a title for the admin pages"
        if spec.settings_schema is not None:
            assert isinstance(spec.settings_schema, type) and issubclass(spec.settings_schema, Schema), \
                f"IntegrationSpec.settings_schema is {spec.settings_schema!r}: it must be a marshmallow Schema class"
            declared = set(spec.settings_schema().fields)
            assert set(spec.secret_fields) <= declared, \
                (f"every secret field must be in the settings schema: {sorted(set(spec.secret_fields) - declared)} "
                 f"are not fields of {spec.settings_schema.__name__}")

    def test_contract_settings_schema_rejects_unknown_fields(self, kit_app):
        from marshmallow import ValidationError

        from hub.runtime import get_runtime

        spec = get_runtime(kit_app).registry.spec(self.plugin_name)
        if spec.settings_schema is None:
            return
        # partial: the required fields' absence must not be what refuses the load (it would hide
        # a schema that takes unknown fields)
        name = spec.settings_schema.__name__
        try:
            spec.settings_schema().load({UNKNOWN_SETTING: 1}, partial=True)
        except ValidationError as exc:
            messages = exc.messages
        else:
            pytest.fail(f"{name}().load accepted an unknown field ({UNKNOWN_SETTING!r}): keep marshmallow's "
                        f"default unknown=RAISE (no `class Meta: unknown = ...`), so a misspelled setting is "
                        f"refused rather than ignored", pytrace=False)
        if not (isinstance(messages, dict) and UNKNOWN_SETTING in messages):
            pytest.fail(f"{name}().load refused the settings {{{UNKNOWN_SETTING!r}: 1}} (loaded with partial=True), "
                        f"but not for the unknown field: it said {messages!r}. Keep marshmallow's default "
                        f"unknown=RAISE, so a misspelled setting is refused by name rather than ignored",
                        pytrace=False)

    def test_contract_imports_only_the_public_hub_contract(self, kit_app):
        from hub.runtime import get_runtime

        plugin = get_runtime(kit_app).registry.pm.get_plugin(self.plugin_name)
        module = inspect.getmodule(plugin) or plugin
        root = Path(module.__file__).parent
        offenders = {str(p): sorted(hub_imports(p) - PUBLIC_MODULES) for p in root.rglob("*.py")
                     if hub_imports(p) - PUBLIC_MODULES}
        assert offenders == {}, (
            "the plugin imports hub modules outside the public contract (docs/plugin-guide.md, 'The contract in "
            "one page'): " + "; ".join(f"{path} imports {', '.join(names)}" for path, names in offenders.items())
            + f". A plugin may import only {', '.join(sorted(PUBLIC_MODULES))}.")
        # its sandbox is a stand-alone program: the sandbox kit only
        sandbox = {str(p): sorted(hub_imports(p) - SANDBOX_MODULES) for p in root.rglob("sandbox/**/*.py")
                   if hub_imports(p) - SANDBOX_MODULES}
        assert sandbox == {}, (
            "the plugin's sandbox imports hub modules other than the sandbox kit (docs/plugin-guide.md): "
            + "; ".join(f"{path} imports {', '.join(names)}" for path, names in sandbox.items())
            + f". A sandbox may import only {', '.join(sorted(SANDBOX_MODULES))}, so it runs on its own.")

    def test_contract_signed_webhook_parses_into_hub_events(self, connected):
        from hub.runtime import get_runtime

        with connected.app_context():
            runtime = get_runtime()
            ctx = runtime.context(1, self.plugin_name)
            result = self._verify_untampered(runtime, ctx, self.signed_webhook(ctx))
        assert isinstance(result, WebhookResult), (
            f"verify_webhook returned {with_article(type(result).__name__)}, not a WebhookResult: return "
            "WebhookResult(events=(InboundEvent(external_id=..., event=...),)), or WebhookResult(ping=True)")
        assert result.events or result.ping, (
            "verify_webhook found no event in signed_webhook's request (and no ping): make signed_webhook a "
            "webhook your plugin turns into an event"
            + (f"; the plugin's note: {result.note!r}" if result.note else ""))
        for inbound in result.events:
            assert isinstance(inbound, InboundEvent), (
                f"WebhookResult.events holds {with_article(type(inbound).__name__)} where an InboundEvent belongs: "
                "wrap each event with the vendor's id of it, InboundEvent(external_id=..., event=...) (the hub "
                "deduplicates on that id; without the wrapper the hub answers the webhook 500)")
            assert isinstance(inbound.external_id, str) and inbound.external_id, \
                f"InboundEvent.external_id is {inbound.external_id!r}: give every event the vendor's non-empty id"
            assert isinstance(inbound.event, HubEvent) and type(inbound.event) in EVENT_TYPES.values(), \
                (f"InboundEvent.event is {with_article(type(inbound.event).__name__)}; it must be one of the hub's "
                 f"events ({', '.join(sorted(cls.__name__ for cls in EVENT_TYPES.values()))})")
            check_event_ids(inbound.event)

    def test_contract_tampered_webhooks_are_rejected(self, connected):
        from hub.runtime import get_runtime

        with connected.app_context():
            runtime = get_runtime()
            ctx = runtime.context(1, self.plugin_name)
            valid = self.signed_webhook(ctx)
            # accepted as sent first: a plugin refusing every request would refuse each tampered one too
            self._verify_untampered(runtime, ctx, valid, before=" (before the tampered cases, which prove nothing "
                                                               "while the untampered request is refused as well)")
            for number, tampered in enumerate(self.tampered_webhooks(ctx, valid), start=1):
                which = f"tampered webhook {number} ({_describe_tampering(valid, tampered)})"
                try:
                    runtime.registry.call(self.plugin_name, "verify_webhook", ctx=ctx, request=tampered)
                except WebhookRejected as exc:
                    rejected = exc
                except Exception as exc:  # the plugin's traceback is shown above this message
                    raise AssertionError(
                        f"verify_webhook raised {type(exc).__name__} ({exc}) for {which}: it must raise "
                        f"WebhookRejected with a 4xx status for it (401 for a bad or missing signature, 400 for a "
                        f"body it cannot parse); any other exception is answered 5xx, and the sender retries it"
                    ) from exc
                else:
                    pytest.fail(f"verify_webhook accepted {which}: it must raise WebhookRejected "
                                f"({_tampering_hint(valid, tampered)})", pytrace=False)
                assert 400 <= rejected.status < 500, \
                    f"verify_webhook rejected {which} with status {rejected.status}; use a 4xx status (401 for a " \
                    f"bad signature)"
                assert rejected.message, f"verify_webhook rejected {which} without a message: say what is wrong"


class AssessmentPluginContract(PluginContract):
    """Contract of an assessment provider: plus "invites exactly once".

    ``make_invitation`` gives ``signed_webhook`` an invitation the hub made, for a webhook that
    names one (a completion)."""

    kit_source = None

    def extra_plugins(self):
        self.kit_source = KitSource()
        return [(KIT_SOURCE, self.kit_source)]

    # ------------------------------------------------------------------ what the kit offers a subclass
    def make_invitation(self, ctx, *, assessment_id: str, provider_invitation_id: str | None = None,
                        status: str = "invited", candidate: Candidate | None = None) -> Invitation:
        """An invitation the hub made, as ``on_stage_change`` and the vendor would leave it, for a
        webhook to name: ``assessment_id`` (of this plugin) is attached to the kit's stage of the
        kit's posting unless it already is, ``candidate`` (default: "Kit Candidate",
        ``kit-webhook-opp``) gets its invitation there, moved from ``pending`` to ``status`` with
        ``provider_invitation_id`` (the vendor's id) when given. Returns the
        ``hub.entities.Invitation`` as the hub then has it: its ``external_reference`` is what the
        vendor stores for the hub, its ``provider_invitation_id`` the vendor's id.

        Call it with the ``ctx`` the kit hands ``signed_webhook`` (or any ``ctx`` of this plugin,
        in an app context); everything is committed when it returns. Nothing is sent to the
        vendor by it, but the status change is announced as any other: the plugins'
        ``on_invitation_status`` (this plugin's too) runs, so ``"cancelled"`` makes the plugin
        withdraw an invitation its vendor never saw. The same candidate and
        assessment give the same invitation again. Raises ``ValueError`` when ``status`` is not an
        invitation status, or when that invitation already is in a status it cannot move to
        ``status`` from, or has another vendor id (give another ``candidate``)."""
        if status not in INVITATION_STATUSES:
            raise ValueError(f"make_invitation: {status!r} is not an invitation status; give one of "
                             f"{', '.join(INVITATION_STATUSES)}")
        attachment = self._kit_attachment(ctx, assessment_id)
        invitation, _ = ctx.invitations.get_or_create(attachment, candidate or Candidate(
            opportunity_id="kit-webhook-opp", name="Kit Candidate", email="kit.webhook@example.com",
            posting_id=KIT_POSTING, stage_id=KIT_STAGE))
        ctx.invitations.transition(invitation.id, status, provider_invitation_id=provider_invitation_id)
        made = ctx.invitations.get(invitation.id)
        other_id = provider_invitation_id is not None and made.provider_invitation_id != provider_invitation_id
        if made.status != status or other_id:
            raise ValueError(
                f"make_invitation: the invitation of {made.opportunity_id} for {assessment_id} already exists, "
                f"{made.status} with the vendor's id {made.provider_invitation_id!r}, and cannot become {status} "
                f"with {provider_invitation_id!r}; give another candidate (another opportunity_id)")
        return made

    def _kit_attachment(self, ctx, assessment_id: str) -> Attachment:
        """This plugin's ``assessment_id`` attached to the kit's stage, attached now if it was not."""
        from hub import services
        from hub.extensions import db

        def attached() -> list[Attachment]:
            return [a for a in ctx.attachments.list(posting_id=KIT_POSTING, stage_id=KIT_STAGE,
                                                    provider=self.plugin_name) if a.assessment_id == assessment_id]

        if not attached():
            try:
                services.save_attachment(ctx.workspace_id, dict(
                    posting_id=KIT_POSTING, posting_name="Kit posting", stage_id=KIT_STAGE,
                    stage_name="Kit assessment stage", provider=self.plugin_name, assessment_id=assessment_id,
                    assessment_name=assessment_id), "kit")
            except BaseException:
                db.session.rollback()
                raise
            db.session.commit()
        return attached()[0]

    def test_contract_invites_exactly_once(self, connected):
        from hub import services
        from hub.engine.ingest import ingest
        from hub.runtime import get_runtime
        from hub.testing.apps import run_deliveries

        with connected.app_context():
            runtime = get_runtime()
            ctx = runtime.context(1, self.plugin_name)
            assessments = _check_assessments(runtime.registry.call(self.plugin_name, "list_assessments", ctx=ctx))
            assert assessments, "list_assessments returned no assessment: the sandbox must offer at least one to attach"
            assessment = assessments[0]
            services.save_attachment(1, dict(posting_id=KIT_POSTING, posting_name="Kit posting",
                                             stage_id=KIT_STAGE, stage_name="Kit assessment stage",
                                             provider=self.plugin_name, assessment_id=assessment.id,
                                             assessment_name=assessment.name), "kit")
            self.kit_source.candidates["kit-opp"] = Candidate(
                opportunity_id="kit-opp", name="Kit Candidate", email="kit.candidate@example.com",
                posting_id=KIT_POSTING, stage_id=KIT_STAGE)
            change = StageChange(opportunity_id="kit-opp", to_stage_id=KIT_STAGE)
            for external_id in ("kit-1", "kit-2"):  # the same move reported twice, under two ids
                ingest(runtime, 1, KIT_SOURCE, InboundEvent(external_id=external_id, event=change))
            run_deliveries(connected)
            runtime.registry.call(self.plugin_name, "on_stage_change", ctx=runtime.context(1, self.plugin_name),
                                  change=change)
            invitations = runtime.context(1, self.plugin_name).invitations.find("kit-opp")
        assert len(invitations) == 1, (
            f"on_stage_change made {len(invitations)} invitations for one candidate entering an attached stage "
            f"(twice, and once more directly); expected exactly 1 (ctx.invitations.get_or_create)")
        invitation = invitations[0]
        assert invitation.status == "invited", (
            f"the invitation is {invitation.status!r}, not 'invited'"
            + (f" (failure reason: {invitation.failure_reason})" if invitation.failure_reason else "")
            + ": send it to your sandbox and record it (hub.kit.provider.send_once and record_sent)")
        assert invitation.provider_invitation_id, \
            "the invitation has no provider_invitation_id: record the vendor's id (hub.kit.provider.record_sent)"


class SourcePluginContract(PluginContract):
    """Contract of a source (ATS): plus the read API and an idempotent result write-back.

    Implement ``sample_opportunity_id`` (an opportunity in your sandbox) and
    ``count_result_writebacks(sandbox_url, opportunity_id)`` (how many result write-backs the
    sandbox holds, e.g. notes carrying the hub's marker). A source implementing the optional
    ``source_list_stage_candidates`` is checked to list the sample opportunity's stage within the
    limit (``check_stage_candidates``); the sample should then be in a stage, not archived."""

    sample_opportunity_id: str = ""

    def extra_plugins(self):
        return [(KIT_PROVIDER, KitProvider())]

    def count_result_writebacks(self, sandbox_url: str, opportunity_id: str) -> int:
        raise NotImplementedError("implement count_result_writebacks in your contract test class")

    def test_contract_reads_a_candidate(self, connected):
        from hub.runtime import get_runtime

        with connected.app_context():
            runtime = get_runtime()
            ctx = runtime.context(1, self.plugin_name)
            candidate = runtime.registry.call(self.plugin_name, "source_get_candidate", ctx=ctx,
                                              opportunity_id=self.sample_opportunity_id)
            missing = runtime.registry.call(self.plugin_name, "source_get_candidate", ctx=ctx,
                                            opportunity_id="kit-no-such-opportunity")
        assert isinstance(candidate, Candidate) and candidate.opportunity_id == self.sample_opportunity_id
        assert missing is None

    def test_contract_lists_stage_candidates(self, connected):
        """The optional backfill hook, when implemented: the sample opportunity's stage, read with
        a limit above and at one, gives lists of ids within the limit, the sample among them
        (unless it is archived)."""
        from hub.runtime import get_runtime

        with connected.app_context():
            runtime = get_runtime()
            if not runtime.registry.implements(self.plugin_name, "source_list_stage_candidates"):
                pytest.skip(f"{self.plugin_name} does not implement source_list_stage_candidates (optional)")
            ctx = runtime.context(1, self.plugin_name)
            candidate = runtime.registry.call(self.plugin_name, "source_get_candidate", ctx=ctx,
                                              opportunity_id=self.sample_opportunity_id)
            assert isinstance(candidate, Candidate) and candidate.posting_id and candidate.stage_id, \
                "the sample opportunity needs a posting and a stage for this check"
            answers = {limit: runtime.registry.call(self.plugin_name, "source_list_stage_candidates", ctx=ctx,
                                                    posting_id=candidate.posting_id, stage_id=candidate.stage_id,
                                                    limit=limit) for limit in (1000, 1)}
        ids = {limit: check_stage_candidates(found, limit) for limit, found in answers.items()}
        if not candidate.archived:
            assert self.sample_opportunity_id in ids[1000], "the sample opportunity is missing from its stage"
            assert len(answers[1]) == 1, "a limit of 1 must still give one id when the stage is not empty"

    def test_contract_result_writeback_is_idempotent(self, connected, sandbox_url):
        from hub import services
        from hub.engine.ingest import ingest
        from hub.runtime import get_runtime

        with connected.app_context():
            runtime = get_runtime()
            ctx = runtime.context(1, KIT_PROVIDER)
            attachment = services.save_attachment(1, dict(
                posting_id="p", posting_name="P", stage_id="s", stage_name="S", provider=KIT_PROVIDER,
                assessment_id="a", assessment_name="Kit assessment"), "kit")
            candidate = runtime.registry.call(self.plugin_name, "source_get_candidate",
                                              ctx=runtime.context(1, self.plugin_name),
                                              opportunity_id=self.sample_opportunity_id)
            invitation, _ = ctx.invitations.get_or_create(services.attachment_entity(attachment), candidate)
            ctx.invitations.transition(invitation.id, "invited", provider_invitation_id="kit-inv")
            result = AssessmentResult(invitation_id=invitation.id, score=42, max_score=50,
                                      report_url="https://kit.example/report/1")
            ingest(runtime, 1, KIT_PROVIDER, InboundEvent(external_id="kit-result", event=result))
            for _ in range(2):  # a retried delivery
                runtime.registry.call(self.plugin_name, "on_assessment_completed",
                                      ctx=runtime.context(1, self.plugin_name), result=result)
        assert self.count_result_writebacks(sandbox_url, self.sample_opportunity_id) == 1
