"""README.md stays true to the repository: CI runs the quick start's test command, and the
dependencies table explains every dependency pyproject.toml declares."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def quick_start_commands() -> list[str]:
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_ci_runs_exactly_the_quick_start_s_test_command():
    install_and_demo, test_command = quick_start_commands()
    assert install_and_demo.endswith("hub demo")
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.strip().startswith("#")]
    assert ci[-1] == test_command


def test_every_dependency_has_a_row_in_the_dependencies_table():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    names = {re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower() for requirement in declared}
    table = README.split("## Dependencies and why", 1)[1]
    first_cells = " ".join(line.split("|")[1] for line in table.splitlines() if line.startswith("|"))
    listed = set(re.findall(r"[a-z0-9][a-z0-9_.-]*", first_cells.lower()))
    assert sorted(names - listed) == []


def test_the_deliveries_it_describes_leave_out_another_providers_invitation():
    """An assessment provider registered with ``own_invitations_only`` gets no delivery about
    another provider's invitation (``hub.engine.ingest.plan``): "one delivery per enabled plugin
    that implements the event's hook" says so each time."""
    import inspect

    from hub.engine import ingest
    from hub.entities import IntegrationSpec

    assert "own_invitations_only" in IntegrationSpec.__dataclass_fields__
    assert "spec.own_invitations_only" in inspect.getsource(ingest.plan)
    text = " ".join(README.split())
    sentences = re.findall(r"one delivery per enabled plugin that implements the event's hook[^.]*\.", text)
    assert len(sentences) == 2
    assert all("own_invitations_only" in sentence for sentence in sentences), sentences
