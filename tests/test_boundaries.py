"""Plugins depend only on the hub's public contract, never on its internals (read from their imports)."""

import ast
from pathlib import Path

from hub.testing.contract import PUBLIC_MODULES as PUBLIC
from hub.testing.contract import SANDBOX_MODULES, hub_imports

ROOT = Path(__file__).resolve().parents[1]


def test_plugins_import_only_the_public_contract():
    offenders = {}
    for path in (ROOT / "plugins").rglob("*.py"):
        bad = hub_imports(path) - PUBLIC
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_sandboxes_import_nothing_of_the_hub_but_the_sandbox_kit():
    offenders = {str(p.relative_to(ROOT)): sorted(hub_imports(p) - SANDBOX_MODULES)
                 for p in (ROOT / "plugins").rglob("sandbox/**/*.py") if hub_imports(p) - SANDBOX_MODULES}
    assert offenders == {}


def test_the_plugin_kit_is_public_and_uses_only_the_public_contract():
    kit = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
           for p in (ROOT / "hub" / "kit").rglob("*.py")}
    assert kit <= PUBLIC, "every module of hub.kit is listed in the plugin guide and PUBLIC_MODULES"
    offenders = {str(p.relative_to(ROOT)): sorted(hub_imports(p) - PUBLIC)
                 for p in (ROOT / "hub" / "kit").rglob("*.py") if hub_imports(p) - PUBLIC}
    assert offenders == {}


def test_the_sandbox_kit_imports_nothing_of_the_hub_but_itself():
    offenders = {str(p.relative_to(ROOT)): sorted(hub_imports(p) - SANDBOX_MODULES)
                 for p in (ROOT / "hub" / "kit" / "sandbox").rglob("*.py") if hub_imports(p) - SANDBOX_MODULES}
    assert offenders == {}


def test_the_core_never_imports_a_plugin_by_name():
    offenders = []
    for path in (ROOT / "hub").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] == "plugins" for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_checker_sees_internal_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from hub import hookimpl\nfrom hub.store.models import User\nimport hub.engine.runner\n")
    assert hub_imports(sample) - PUBLIC == {"hub.store.models", "hub.engine.runner"}


def test_the_plugin_guide_lists_every_public_kit_module():
    guide = (ROOT / "docs" / "plugin-guide.md").read_text()
    modules = {m for m in PUBLIC if m.startswith("hub.kit.") and (ROOT / (m.replace(".", "/") + ".py")).exists()}
    assert modules and {m for m in modules if f"`{m}`" not in guide} == set()
