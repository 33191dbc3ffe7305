"""A plugin developer who breaks a scaffolded plugin is told by the contract kit (``hub.testing``)
what is wrong and what to do, in a sentence: the kit's asserts live outside the plugin's test
modules, so pytest does not rewrite them, and a bare ``assert`` failed as ``AssertionError`` with
nothing else.

Each test renders ``hub new-plugin acme --kind assessment``, breaks one thing, and runs the
plugin's contract tests in a fresh pytest process, loading the plugin without installing it
(``HUB_EXTRA_PLUGIN_MODULES``, as docs/plugin-guide.md describes for development)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.cli.scaffold import render_plugin

PLUGIN = "ats_hub_acme/__init__.py"
SANDBOX = "ats_hub_acme/sandbox/__init__.py"
TESTS = "tests/test_contract.py"


def _contract_run(tmp_path: Path, path: str, old: str, new: str, test: str, kind: str = "assessment") -> str:
    """The output of the scaffolded plugin's (of ``kind``) contract test ``test`` after replacing
    ``old`` with ``new`` in its file ``path``; the run must fail."""
    target = tmp_path / "ats-hub-acme"
    for relative, text in render_plugin("acme", kind).items():
        if relative == path:
            assert text.count(old) == 1, f"the scaffold should contain {old!r} once"
            text = text.replace(old, new)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(target), HUB_EXTRA_PLUGIN_MODULES="acme=ats_hub_acme")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", test, "tests"],
                         capture_output=True, text=True, env=env, cwd=target, timeout=180)
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    return output


# (file of the scaffold, text in it, replaced by, the contract test to run, what its failure must say)
BREAKAGES = {
    "no plugin_name": (TESTS, '    plugin_name = "acme"\n', "", "registers_a_valid_spec",
                       ["TestPluginContract sets no plugin_name: set it to your plugin's name"]),
    "a plugin_name not installed": (
        TESTS, 'plugin_name = "acme"', 'plugin_name = "acme_tests"', "registers_a_valid_spec",
        ["TestPluginContract.plugin_name is 'acme_tests', but no plugin of that name is installed"]),
    "an import of hub internals": (
        PLUGIN, "from hub.kit import provider\n", "from hub.kit import provider\nfrom hub.services import default_workspace\n",
        "imports_only_the_public_hub_contract",
        ["the plugin imports hub modules outside the public contract", "ats_hub_acme/__init__.py imports hub.services"]),
    # a sandbox runs on its own (docs/plugin-guide.md): a public hub module is still too much
    "a sandbox importing more than the sandbox kit": (
        SANDBOX, "from hub.kit.sandbox import server\n",
        "from hub.kit.sandbox import server\nfrom hub.entities import Assessment\n",
        "imports_only_the_public_hub_contract",
        ["the plugin's sandbox imports hub modules other than the sandbox kit",
         "ats_hub_acme/sandbox/__init__.py imports hub.entities"]),
    "a tampered webhook accepted": (
        PLUGIN, "    body = _check_signature(ctx, request)\n", "    return WebhookResult(ping=True)\n",
        "tampered_webhooks_are_rejected",
        ["verify_webhook accepted tampered webhook 1 (body changed): it must raise WebhookRejected"]),
    "a sandbox without assessments": (
        SANDBOX, 'ASSESSMENTS = [{"id": "basic", "name": "Basic skills"}]', "ASSESSMENTS = []",
        "invites_exactly_once", ["list_assessments returned no assessment"]),
    "an invitation the vendor refused": (
        SANDBOX, "        body = request.get_json(force=True)\n        with lock:\n",
        '        return jsonify({"error": "no such assessment"}), 400\n        with lock:\n', "invites_exactly_once",
        ["the invitation is 'failed', not 'invited' (failure reason: Acme answered 400 Bad Request to POST "
         "/invitations"]),
    "a rejection with a server status": (
        PLUGIN, '"signature does not match", status=401)', '"signature does not match", status=500)',
        "tampered_webhooks_are_rejected",
        ["verify_webhook rejected tampered webhook 1 (body changed) with status 500; use a 4xx status"]),
    # the kit loaded {"certainly_not_a_setting": 1} without the required settings: refused for those,
    # it passed a schema that takes unknown fields
    "a settings schema taking unknown fields": (
        PLUGIN, "class Settings(Schema):\n", 'class Settings(Schema):\n    class Meta:\n        unknown = "include"\n\n',
        "settings_schema_rejects_unknown_fields",
        ["Settings().load accepted an unknown field ('certainly_not_a_setting'): keep marshmallow's default "
         "unknown=RAISE"]),
    # a crash was shown as a bare AttributeError, never naming the tampered case
    "a crash on a tampered webhook": (
        PLUGIN, '    signature = request.header(SIGNATURE_HEADER)\n    if not signature:\n'
                '        raise WebhookRejected(f"missing {SIGNATURE_HEADER} header", status=401)\n',
        "    signature = request.header(SIGNATURE_HEADER).strip()\n", "tampered_webhooks_are_rejected",
        ["verify_webhook raised AttributeError ('NoneType' object has no attribute 'strip') for tampered webhook 3 "
         "(headers changed): it must raise WebhookRejected with a 4xx status for it"]),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_the_kit_says_what_is_wrong(tmp_path, breakage):
    path, old, new, test, said = BREAKAGES[breakage]
    output = _contract_run(tmp_path, path, old, new, test)
    for words in said:
        assert words in output, breakage


# the same for a source plugin (``hub new-plugin acme --kind source``)
SOURCE_BREAKAGES = {
    # a webhook's missing id read as str(None): the kit passed StageChange(opportunity_id='None')
    "an opportunity id read from the wrong field": (
        PLUGIN, "change = StageChange(opportunity_id=opportunity_id, to_stage_id=to_stage_id)",
        'change = StageChange(opportunity_id=str(body.get("opportunityId")), to_stage_id=to_stage_id)',
        "signed_webhook_parses_into_hub_events",
        ["StageChange.opportunity_id is 'None'", "refuse a webhook without one with WebhookRejected(..., status=422)"]),
}


@pytest.mark.parametrize("breakage", list(SOURCE_BREAKAGES))
def test_the_kit_says_what_is_wrong_with_a_source(tmp_path, breakage):
    path, old, new, test, said = SOURCE_BREAKAGES[breakage]
    output = _contract_run(tmp_path, path, old, new, test, kind="source")
    for words in said:
        assert words in output, breakage
