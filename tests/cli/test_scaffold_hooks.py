"""A scaffolded assessment plugin can be tried end to end: its sandbox's invite link is a page
whose button finishes the test and sends the signed "completed" webhook to the hub that
``connect_sandbox`` named, and the plugin ships hook tests (``tests/test_hooks.py``, on
``hub.testing.ProviderHub``) that prove the invitation, the completion, the reference check and
that a refused API key is said in the vendor's words.
The scaffold used to hand out invite links that answered 404 and had no way to send a webhook, so
in ``hub demo`` an invitation could never complete.

The generated tests run in a fresh pytest process, the plugin loaded without installing it
(``HUB_EXTRA_PLUGIN_MODULES``)."""

import os
import subprocess
import sys

from hub.cli.scaffold import render_plugin


def test_the_scaffolded_assessment_plugin_passes_its_hook_tests(tmp_path):
    target = tmp_path / "ats-hub-acme"
    for relative, text in render_plugin("acme", "assessment").items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(target), HUB_EXTRA_PLUGIN_MODULES="acme=ats_hub_acme")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_hooks.py"],
                         capture_output=True, text=True, env=env, cwd=target, timeout=180)
    assert run.returncode == 0 and "4 passed" in run.stdout, run.stdout + run.stderr


def test_the_generated_readme_installs_the_test_extra_the_cli_names():
    """The README said ``pip install -e .`` and ``pytest tests``: without the [test] extra there is
    no pytest, and the hub's test kit imports it."""
    readme = render_plugin("acme", "assessment")["README.md"]
    assert "pip install -e '.[test]'" in readme and "python -m pytest tests" in readme
    assert "pip install -e .\n" not in readme


def test_the_help_names_the_hook_tests_and_what_installing_changes(runner):
    result = runner.invoke(args=["new-plugin", "--help"])
    text = " ".join(result.output.split())
    assert result.exit_code == 0
    assert "hook tests through a served hub (`hub.testing.ProviderHub`)" in text
    assert "Installing adds the plugin to every hub run from that environment" in text
