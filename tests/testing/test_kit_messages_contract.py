"""The contract kit (``hub.testing.contract``) tells a plugin developer what to fix, found by a
walk-through of writing a new plugin:

- a plugin that is not loaded: the failure named only ``pip install``, which the guide says not to
  do in the hub's own environment (``HUB_EXTRA_PLUGIN_MODULES`` there);
- a required setting ``connect_sandbox`` did not store: a bare ``KeyError`` inside the plugin later;
- ``list_assessments`` returning dicts: ``AttributeError: 'dict' object has no attribute 'id'``;
- ``signed_webhook`` signed with another secret than the one stored: the plugin's bare
  ``WebhookRejected`` in the webhook test, and the tampered-webhooks test passed (everything was
  refused, the untampered request too);
- an accepted stale webhook: the hint said to check the signature over the body bytes.

The kit runs in this process: its fixtures' functions (``__wrapped__``) and its test methods are
called on a toy provider, as tests/testing/test_contract_kit.py does (the contract classes here do
not start with ``Test``, so pytest does not collect the whole contract for them)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shlex
import sys
from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import Schema, fields

from hub import hookimpl
from hub.entities import ASSESSMENT, Assessment, IntegrationSpec, WebhookRequest, WebhookResult
from hub.errors import WebhookRejected
from hub.kit.vendor_http import validate_base_url
from hub.runtime import get_runtime
from hub.testing import AssessmentPluginContract, PluginContract

WEBHOOK_SECRET = "toy-webhook-secret"
SECRETS = {"api_key": "toy-key", "webhook_secret": WEBHOOK_SECRET}
SANDBOX_URL = "http://sandbox.test"
WINDOW_SECONDS = 300


class ToySettings(Schema):
    base_url = fields.Str(required=True, validate=validate_base_url)
    api_key = fields.Str(required=True)
    webhook_secret = fields.Str(required=True)


def sign(secret: str, body: bytes, at: datetime) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Timestamp": timestamp, "X-Signature": digest}


class ToyVendor:
    """An assessment provider whose ``connect_sandbox`` stores ``settings`` and ``secrets``,
    whose ``list_assessments`` returns ``assessments``, and whose ``verify_webhook`` checks the
    signature (unless ``checks_signature`` is False) and the signed time against
    ``request.received_at`` (unless ``checks_time`` is False)."""

    def __init__(self, *, settings=None, secrets=None, assessments=None, checks_signature=True, checks_time=True):
        self.settings = {"base_url": SANDBOX_URL} if settings is None else settings
        self.secrets = dict(SECRETS) if secrets is None else secrets
        self.assessments = [Assessment(id="basic", name="Basic")] if assessments is None else assessments
        self.checks_signature, self.checks_time = checks_signature, checks_time

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Toy", settings_schema=ToySettings,
                                 secret_fields=("api_key", "webhook_secret")))

    @hookimpl
    def connect_sandbox(self, ctx, sandbox_url):
        ctx.update_settings(self.settings)
        ctx.update_secrets(self.secrets)
        return f"connected to {sandbox_url}"

    @hookimpl
    def list_assessments(self, ctx):
        return self.assessments

    @hookimpl
    def verify_webhook(self, ctx, request):
        if not self.checks_signature:
            return WebhookResult(ping=True)
        signature, timestamp = request.header("X-Signature"), request.header("X-Timestamp")
        if not signature or not timestamp:
            raise WebhookRejected("missing signature", status=401)
        signed_at = datetime.fromtimestamp(int(timestamp), timezone.utc)
        if not hmac.compare_digest(signature, sign(ctx.secrets["webhook_secret"], request.body,
                                                   signed_at)["X-Signature"]):
            raise WebhookRejected("signature does not match", status=401)
        if self.checks_time and abs((request.received_at - signed_at).total_seconds()) > WINDOW_SECONDS:
            raise WebhookRejected("stale webhook", status=401)
        return WebhookResult(ping=True)


class ToyContract(AssessmentPluginContract):
    plugin_name = "toy"
    signing_secret: str | None = None  # None: the one connect_sandbox stored
    only_case: int | None = None  # the default tampered case to keep alone (0-3), or all

    def signed_webhook(self, ctx):
        body = b'{"id": "evt-ping-1", "type": "ping"}'
        now = datetime.now(timezone.utc)
        return WebhookRequest(body=body, headers=sign(self.signing_secret or ctx.secrets["webhook_secret"], body, now),
                              received_at=now)

    def tampered_webhooks(self, ctx, valid):
        cases = super().tampered_webhooks(ctx, valid)
        return cases if self.only_case is None else [cases[self.only_case]]


def kit_fixture(name: str):
    """The contract kit's fixture ``name`` as the function pytest calls."""
    return PluginContract.__dict__[name].__wrapped__


@pytest.fixture
def connect(make_app):
    """``connect(vendor, contract)``: the kit's ``connected`` fixture run for the toy ``vendor``
    (loaded as ``toy``, with the contract's stand-ins), its sandbox URL given."""

    def connect(vendor: ToyVendor, contract: ToyContract):
        app = make_app(plugins=[("toy", vendor), *contract.extra_plugins()], entry_points=False)
        return kit_fixture("connected")(contract, app, SANDBOX_URL)

    return connect


def failure(call, *args) -> str:
    with pytest.raises(pytest.fail.Exception) as failed:
        call(*args)
    return str(failed.value)


# --------------------------------------------------------------------------- 1. a plugin not loaded

class NotLoadedContract(ToyContract):
    plugin_name = "toy_not_loaded"


@pytest.mark.parametrize("extra_modules, said", [
    (None, "and HUB_EXTRA_PLUGIN_MODULES is not set"),
    ("other=json", "and HUB_EXTRA_PLUGIN_MODULES ('other=json') loads none of that name"),
])
def test_a_plugin_not_loaded_is_told_both_ways_to_load_it(tmp_path, monkeypatch, extra_modules, said):
    if extra_modules is None:
        monkeypatch.delenv("HUB_EXTRA_PLUGIN_MODULES", raising=False)
    else:
        monkeypatch.setenv("HUB_EXTRA_PLUGIN_MODULES", extra_modules)

    message = failure(kit_fixture("kit_app"), NotLoadedContract(), tmp_path)

    assert message.startswith("NotLoadedContract.plugin_name is 'toy_not_loaded', but no plugin of that name is "
                              f"installed in this environment, {said}. Set plugin_name to the name of your `ats_hub` "
                              "entry point in pyproject.toml, then load the plugin one of two ways: (1) in a virtual "
                              "environment of the plugin's own, install the hub and the plugin there"), message
    assert "-e '.[test]'" in message  # the installed way
    assert ("(2) without installing it, as in the environment the hub is developed or run from (installed there, the "
            "plugin would load in every hub command and test run), from the plugin's directory: PYTHONPATH=. "
            f"HUB_EXTRA_PLUGIN_MODULES=toy_not_loaded=PACKAGE {shlex.quote(os.path.abspath(sys.executable))} -m pytest "
            "tests") in message
    assert re.search(r"\. Plugins found: [^.]*\.$", message), message  # not the hub's own advice again
    assert message.count("HUB_EXTRA_PLUGIN_MODULES=toy_not_loaded=") == 1


# --------------------------------------------------------------------------- 2. settings connect_sandbox left out

@pytest.mark.parametrize("vendor, said", [
    (ToyVendor(secrets={"webhook_secret": WEBHOOK_SECRET}),
     "ToySettings: api_key: Missing data for required field. connect_sandbox must store each of them, "
     "valid (ctx.update_secrets({...}) for api_key)"),
    (ToyVendor(settings={}, secrets={}),
     "ToySettings: base_url: Missing data for required field; api_key: Missing data for required field; "
     "webhook_secret: Missing data for required field. connect_sandbox must store each of them, valid "
     "(ctx.update_settings({...}) for base_url; ctx.update_secrets({...}) for api_key, webhook_secret)"),
    (ToyVendor(settings={"base_url": "sandbox.test"}),
     "ToySettings: base_url: Enter a URL starting with http:// or https://. connect_sandbox must store each of them, "
     "valid (ctx.update_settings({...}) for base_url)"),
], ids=["a secret missing", "everything missing", "an invalid setting"])
def test_the_kit_says_which_settings_connect_sandbox_left_out(connect, vendor, said):
    message = failure(connect, vendor, ToyContract())

    assert message.startswith("the settings toy's connect_sandbox stored do not load under its settings schema "), message
    assert said in message
    assert "as an admin would on the integration page" in message
    assert f"It stored the settings {', '.join(sorted(vendor.settings)) or '(none)'}" in message


def test_settings_that_load_pass(connect):
    app = connect(ToyVendor(), ToyContract())
    ToyContract().test_contract_signed_webhook_parses_into_hub_events(app)


# --------------------------------------------------------------------------- 3. list_assessments' items

def test_list_assessments_returning_dicts_is_named(connect):
    contract = ToyContract()
    app = connect(ToyVendor(assessments=[{"id": "basic", "name": "Basic"}]), contract)

    message = failure(contract.test_contract_invites_exactly_once, app)

    assert message.startswith("list_assessments returned dict items, not Assessment (the first: {'id': 'basic', "
                              "'name': 'Basic'}): return a list of hub.entities.Assessment(id=..., name=...)"), message


# --------------------------------------------------------------------------- 4, 5. a sample signed with another secret

def test_a_sample_signed_with_another_secret_is_said_in_the_webhook_test(connect):
    contract = ToyContract()
    app = connect(ToyVendor(), contract)
    contract.signing_secret = "a secret of its own"

    message = failure(contract.test_contract_signed_webhook_parses_into_hub_events, app)

    assert message == (
        "verify_webhook rejected the untampered request from signed_webhook: it said 'signature does not match' "
        "(status 401). The sample from signed_webhook must be signed with the secret the plugin stored in "
        "ctx.secrets during connect_sandbox (its secrets there: api_key, webhook_secret): sign it with "
        "ctx.secrets[...] of the ctx signed_webhook is given, not with a secret of its own. If it is signed so, "
        "verify_webhook itself refuses a webhook the vendor would send: fix its check")


def test_the_tampered_webhooks_test_first_checks_the_untampered_one_is_accepted(connect):
    """Every request refused (the sample signed with another secret): each tampered one was
    refused too, and the test passed."""
    contract = ToyContract()
    app = connect(ToyVendor(), contract)
    contract.signing_secret = "a secret of its own"

    message = failure(contract.test_contract_tampered_webhooks_are_rejected, app)

    assert message.startswith(
        "verify_webhook rejected the untampered request from signed_webhook (before the tampered cases, which prove "
        "nothing while the untampered request is refused as well): it said 'signature does not match' (status 401). "
        "The sample from signed_webhook must be signed with the secret the plugin stored in ctx.secrets during "
        "connect_sandbox"), message


def test_a_plugin_refusing_the_tampered_ones_and_taking_the_sample_passes(connect):
    contract = ToyContract()
    contract.test_contract_tampered_webhooks_are_rejected(connect(ToyVendor(), contract))


# --------------------------------------------------------------------------- 6. each tampered case's own hint

@pytest.mark.parametrize("case, vendor, said", [
    (0, ToyVendor(checks_signature=False), "tampered webhook 1 (body changed): it must raise WebhookRejected "
                                           "(check the signature over the exact body bytes)"),
    (1, ToyVendor(checks_signature=False), "tampered webhook 1 (body truncated): it must raise WebhookRejected "
                                           "(check the signature over the exact body bytes)"),
    (2, ToyVendor(checks_signature=False), "tampered webhook 1 (headers changed): it must raise WebhookRejected "
                                           "(refuse a request whose signature headers are missing or changed)"),
    (None, ToyVendor(checks_time=False), "tampered webhook 4 (received {late} later: refuse a stale "
                                         "timestamp): it must raise WebhookRejected (compare the signed time with "
                                         "request.received_at, when the hub received the request, not with the "
                                         "clock, and refuse a time outside your window"),
], ids=["body changed", "body truncated", "headers dropped", "stale"])
def test_each_accepted_tampered_webhook_has_its_own_hint(connect, case, vendor, said):
    contract = ToyContract()
    contract.only_case = case
    app = connect(vendor, contract)

    message = failure(contract.test_contract_tampered_webhooks_are_rejected, app)

    with app.app_context():
        late = get_runtime().context(1, "toy").dedupe_window + timedelta(days=1)
    assert message.startswith(f"verify_webhook accepted {said.format(late=late)}"), message
    if case in (None, 2):
        assert "exact body bytes" not in message
