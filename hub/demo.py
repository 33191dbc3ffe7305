"""Starting plugins' sandboxes and connecting a workspace to them: used by ``hub demo`` and by the
end-to-end tests. Generic: it knows no plugin by name, only the ``register_sandbox`` and
``connect_sandbox`` hooks and each plugin's kind and title."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field

from hub import services
from hub.entities import ASSESSMENT, SOURCE, Assessment, SandboxSpec
from hub.errors import Conflict
from hub.plugins.manager import PluginLoadError

log = logging.getLogger("hub.demo")


def _demo_source(runtime, workspace_id: int, names: list[str], wanted: str | None) -> tuple[str | None, bool]:
    """The workspace's ATS for the demo (see ``connect_workspace``), and whether it is an earlier
    run's (enabled already)."""
    registry = runtime.registry
    enabled = runtime.active_source(workspace_id)
    if enabled is not None:
        return enabled, True
    sources = demo_sources(registry, names)
    return (wanted if wanted in sources else (sources[0] if sources else None)), False


def demo_sources(registry, names) -> list[str]:
    """Of ``names`` (plugins with a sandbox), the sources (ATS) the demo can connect, by name."""
    return sorted(n for n in names if registry.spec(n).kind == SOURCE and registry.implements(n, "connect_sandbox"))


def sandbox_specs(registry) -> dict[str, SandboxSpec]:
    """Every plugin's registered sandbox, by plugin name."""
    specs: dict[str, SandboxSpec] = {}
    for name in registry.names():
        if not registry.implements(name, "register_sandbox"):
            continue
        found: list[SandboxSpec] = []
        registry.call(name, "register_sandbox", register=found.append)
        if found:
            specs[name] = found[0]
    return specs


def sandbox_module(name: str, spec: SandboxSpec):
    """Plugin ``name``'s sandbox module, as its ``SandboxSpec`` names it, offering
    ``serve_in_thread``; ``PluginLoadError`` naming the plugin, the module and what to do when it
    cannot be imported or offers none (``hub demo`` and the contract kit start sandboxes with it)."""
    what = f"plugin {name!r} registers the sandbox module {spec.module!r} (register_sandbox)"
    try:
        module = importlib.import_module(spec.module)
    except Exception as exc:
        raise PluginLoadError(f"{what}, which cannot be imported: {type(exc).__name__}: {exc}. Name a module "
                              f"of the plugin's package, importable where the hub runs") from exc
    if not callable(getattr(module, "serve_in_thread", None)):
        raise PluginLoadError(f"{what}, which has no serve_in_thread function: define serve_in_thread(config=None, "
                              f"host=\"127.0.0.1\", port=0) returning (base_url, stop) there "
                              f"(hub.kit.sandbox.server.serve_in_thread serves a Flask app so; docs/plugin-guide.md, "
                              f"\"Sandboxes\")")
    return module


def start_sandbox_threads(registry, host: str = "127.0.0.1", ports: dict[str, int] | None = None) -> dict[str, tuple]:
    """Start each sandbox in this process; returns ``{plugin: (base_url, stop)}``."""
    started = {}
    for name, spec in sandbox_specs(registry).items():
        module = sandbox_module(name, spec)
        started[name] = module.serve_in_thread(host=host, port=(ports or {}).get(name, 0))
    return started


@dataclass(frozen=True)
class Attached:
    """An assessment the demo attached: what the story's steps name."""

    assessment: str
    provider_title: str
    stage: str
    posting: str

    def __str__(self) -> str:
        return f'"{self.assessment}" ({self.provider_title}) on "{self.stage}" of "{self.posting}"'


@dataclass
class DemoSetup:
    messages: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)  # each of ``attached`` in words
    attached: list[Attached] = field(default_factory=list)
    source: str | None = None  # the workspace's ATS (plugin name)


def connect_workspace(runtime, workspace_id: int, sandbox_urls: dict[str, str], actor: str = "hub demo",
                      source: str | None = None) -> DemoSetup:
    """Enable every plugin that has a sandbox, connect it (``connect_sandbox``), and attach each
    assessment provider's first assessment to the source stage named after the provider (e.g.
    "Canditech Stage") of the first posting that is open.

    A workspace has one source (ATS): the one already enabled there (an earlier run's) stays; else,
    of several with a sandbox, ``source`` or the first by name is connected. Each other one is
    named in a message saying how to choose it. ``DemoSetup.source`` is the workspace's ATS."""
    registry = runtime.registry
    setup = DemoSetup()
    # sources first: assessment providers read postings and stages through the source
    ordered = sorted(sandbox_urls, key=lambda n: (0 if registry.spec(n).kind == SOURCE else 1, n))
    chosen, earlier = _demo_source(runtime, workspace_id, ordered, source)
    for name in ordered:
        if not registry.implements(name, "connect_sandbox"):
            continue
        if registry.spec(name).kind == SOURCE and name != chosen:
            title = registry.spec(name).title
            if earlier:
                setup.messages.append(f"{title}: not connected: a workspace has one ATS, and the demo's data from an "
                                      f"earlier run has {registry.title(chosen)} (hub demo --reset --source {name} "
                                      f"starts afresh with {title})")
            else:
                setup.messages.append(f"{title}: not connected: a workspace has one ATS, and the demo connected "
                                      f"{registry.title(chosen)} (hub demo --reset --source {name} connects {title} "
                                      "instead)")
            continue
        services.set_enabled(runtime, workspace_id, name, True, actor)
        message = registry.call(name, "connect_sandbox", ctx=runtime.context(workspace_id, name, actor=actor),
                                sandbox_url=sandbox_urls[name])
        setup.messages.append(f"{registry.spec(name).title}: {message}")
    source = setup.source = runtime.active_source(workspace_id)
    if source is None:
        return setup
    source_ctx = runtime.context(workspace_id, source)
    postings = [p for p in registry.call(source, "source_list_postings", ctx=source_ctx)
                if p.state in ("", "published")]
    if not postings:
        return setup
    posting = postings[0]
    stages = registry.call(source, "source_list_stages", ctx=source_ctx, posting_id=posting.id)
    for name in ordered:
        spec = registry.spec(name)
        if spec.kind != ASSESSMENT:
            continue
        stage = next((s for s in stages if spec.title.lower() in s.name.lower()), None)
        if stage is None:
            setup.messages.append(f'{spec.title}: no stage of "{posting.title}" has "{spec.title}" in its name, so '
                                  "nothing was attached: attach one of its assessments on Pipeline")
            continue
        assessments = list(registry.call(name, "list_assessments", ctx=runtime.context(workspace_id, name)) or [])
        wrong = next((item for item in assessments if not isinstance(item, Assessment)), None)
        if wrong is not None:  # the plugin's mistake, said as the hub's pages say it (hub.web.live)
            setup.messages.append(f"{spec.title}: list_assessments returned {type(wrong).__name__} items, not "
                                  "Assessment, so nothing was attached (the plugin must return hub.entities.Assessment)")
            continue
        if not assessments:
            setup.messages.append(f"{spec.title}: it offers no assessment, so nothing was attached")
            continue
        assessment = assessments[0]
        try:
            services.save_attachment(workspace_id, dict(
                posting_id=posting.id, posting_name=posting.title, stage_id=stage.id, stage_name=stage.name,
                provider=name, assessment_id=assessment.id, assessment_name=assessment.name), actor)
        except Conflict:
            pass  # attached on an earlier run
        setup.attached.append(Attached(assessment.name, spec.title, stage.name, posting.title))
        setup.attachments.append(str(setup.attached[-1]))
    return setup
