"""What a vendor's developer writing an assessment plugin ("Quizly", the devwalk) met that
docs/plugin-guide.md did not say, each checked against the hub's behaviour and the guide:

* a plugin with ``setup_webhooks`` (``supports_webhook_setup``) whose registration worked was still
  "No webhooks registered by the hub" on its page, and the Dashboard asked to register them (again)
  until a webhook arrived: the hub knows them only from ``connection_state(...).webhooks``;
* ``hub demo`` calls ``connect_sandbox`` before the hub listens, so the test event a webhook
  registration sends from it is lost and the integration stays "Not verified yet";
* ``ProviderHub.deliveries()``'s statuses were nowhere in the guide (``retry``, not "retrying");
* what reaches a provider from a source that raises anything but the errors the guide named (a bug
  in the source: a ``KeyError``) was not said: it passes through, under its own name."""

from __future__ import annotations

import re
from pathlib import Path

from hub import hookimpl
from hub.entities import ASSESSMENT, ConnectionState, IntegrationSpec, RegisteredWebhook
from hub.testing import enable_plugins, plugin_context

GUIDE = (Path(__file__).resolve().parents[1] / "docs" / "plugin-guide.md").read_text()


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _hook_section(hook: str) -> str:
    start = GUIDE.index(f"\n#### `{hook}(")
    end = re.compile(r"\n#{2,4} ").search(GUIDE, start + 1).start()
    return _flat(GUIDE[start:end])


class Registering:
    """A provider that registers its webhooks through its vendor's API, and says so only when
    ``tells`` (its ``connection_state``)."""

    def __init__(self, tells: bool):
        self.tells = tells

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Toy", supports_webhook_setup=True))

    @hookimpl
    def setup_webhooks(self, ctx):
        ctx.update_secrets({"webhook_secret": "from-the-vendor"})
        ctx.records.put("endpoint", {"id": "we_1", "url": ctx.webhook_url})
        return "registered"

    @hookimpl
    def connection_state(self, ctx):
        endpoint = ctx.records.get("endpoint")
        if not self.tells or not endpoint:
            return ConnectionState()
        return ConnectionState(webhooks=(RegisteredWebhook(event="all", url=endpoint["url"]),))


def _after_registering(make_app, tells: bool):
    from hub.web import queries

    app = make_app({"PLUGINS": "toy"}, plugins=[("toy", Registering(tells))], entry_points=False)
    enable_plugins(app, "toy")
    with plugin_context(app, "toy") as ctx:
        ctx.update_secrets({"api_key": "k"})
        ctx.set_status("connected", None)
        Registering(tells).setup_webhooks(ctx)
        return queries.webhook_registration(1, "toy")


def test_webhooks_registered_are_known_to_the_hub_only_from_connection_state(make_app):
    assert _after_registering(make_app, tells=False) == "none"  # the page and the Dashboard ask for them
    assert _after_registering(make_app, tells=True) is None


def test_the_guide_says_setup_webhooks_needs_connection_state():
    section = _hook_section("setup_webhooks")
    assert "connection_state" in section and "RegisteredWebhook" in section, section[:300]
    assert "No webhooks registered by the hub" in section and "has no webhooks registered" in section
    assert "replace your earlier registration" in section


def test_the_guide_says_the_demo_connects_before_the_hub_listens():
    section = _hook_section("connect_sandbox")
    assert "before the hub listens" in section and "Not verified yet" in section, section[:300]


def test_the_guide_names_the_delivery_statuses():
    from hub.store.models import DELIVERY_STATUSES

    paragraph = _flat(GUIDE[GUIDE.index("`deliveries(plugin=None)`"):][:300])
    assert all(f"`{status}`" in paragraph for status in DELIVERY_STATUSES), paragraph


def test_the_guide_says_what_else_a_source_raises_passes_through():
    paragraph = _flat(GUIDE[GUIDE.index("What the source raises reaches the caller"):][:1500])
    assert "So does anything else it raises" in paragraph and "KeyError" in paragraph, paragraph[-400:]
