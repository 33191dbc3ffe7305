"""A plugin's sandbox that the contract kit and ``hub demo`` cannot start is said in words, found
by a walk-through of the plugin guide's tutorial (a minimal provider, then its contract tests):

- no ``register_sandbox``: the kit's failure said "the kit needs one", under a traceback of the
  kit's own fixture (``hub.demo``, ``hub.runtime``), and not how to register one;
- a ``SandboxSpec`` naming a module without ``serve_in_thread`` (or one that cannot be imported):
  a bare ``AttributeError`` (``ModuleNotFoundError``) raised inside the kit, and ``hub demo``
  printed "Error: AttributeError: module '...' has no attribute 'serve_in_thread'", naming neither
  the plugin nor what the module must offer.

The kit's ``sandbox_url`` fixture runs in this process, as in tests/testing/test_kit_messages_contract.py."""

from __future__ import annotations

import sys
import types

import pytest

from hub import hookimpl
from hub.demo import start_sandbox_threads
from hub.entities import ASSESSMENT, IntegrationSpec, SandboxSpec
from hub.plugins.manager import PluginLoadError
from hub.runtime import get_runtime
from hub.testing import AssessmentPluginContract, PluginContract

NO_SERVE = "devwalk_toy_sandbox_without_serve"


class ToyProvider:
    def __init__(self, sandbox_module: str | None):
        self.sandbox_module = sandbox_module

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Toy"))

    @hookimpl
    def register_sandbox(self, register):
        if self.sandbox_module is not None:
            register(SandboxSpec(module=self.sandbox_module))


class ToyContract(AssessmentPluginContract):
    plugin_name = "toy"


@pytest.fixture
def toy_app(make_app, monkeypatch):
    monkeypatch.setitem(sys.modules, NO_SERVE, types.ModuleType(NO_SERVE))  # a sandbox module offering nothing
    return lambda module: make_app(plugins=[("toy", ToyProvider(module))], entry_points=False)


def sandbox_url_failure(app) -> str:
    fixture = PluginContract.__dict__["sandbox_url"].__wrapped__
    with pytest.raises(pytest.fail.Exception) as failed:
        next(fixture(ToyContract(), app))
    assert failed.value.pytrace is False  # the message alone: no traceback of the kit's fixture
    return str(failed.value)


def test_a_plugin_without_a_sandbox_is_told_how_to_register_one(toy_app):
    message = sandbox_url_failure(toy_app(None))

    assert message.startswith("toy registers no sandbox (register_sandbox): the kit runs its tests against one. "
                              "Implement register_sandbox, calling register(SandboxSpec(module=...)) with a module of "
                              "your package that offers serve_in_thread"), message
    assert "hub new-plugin generates one" in message and "connect_sandbox" in message


@pytest.mark.parametrize("module, said", [
    (NO_SERVE, "which has no serve_in_thread function: define serve_in_thread(config=None, host=\"127.0.0.1\", "
               "port=0) returning (base_url, stop) there"),
    ("devwalk_no_such_sandbox_module", "which cannot be imported: ModuleNotFoundError: No module named "
                                       "'devwalk_no_such_sandbox_module'"),
], ids=["no serve_in_thread", "not importable"])
def test_a_sandbox_module_the_kit_cannot_start_names_the_plugin_and_what_to_do(toy_app, module, said):
    message = sandbox_url_failure(toy_app(module))

    assert message.startswith(f"plugin 'toy' registers the sandbox module {module!r} (register_sandbox), "), message
    assert said in message


def test_hub_demo_says_which_plugins_sandbox_it_cannot_start(toy_app):
    app = toy_app(NO_SERVE)

    with pytest.raises(PluginLoadError) as failed:  # hub demo prints it as "Error: <message>"
        start_sandbox_threads(get_runtime(app).registry)

    assert str(failed.value).startswith(f"plugin 'toy' registers the sandbox module {NO_SERVE!r} (register_sandbox), "
                                        "which has no serve_in_thread function")
