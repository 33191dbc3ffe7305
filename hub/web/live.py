"""Live reads from the vendors for the UI and the API: postings, stages, assessments, and the
connection actions (test, connect, register webhooks).

A vendor being down must never produce a 500: every plugin call goes through ``call_plugin``,
which turns a ``HubError`` into its safe message and anything else into "<Plugin> failed: ...",
raised as ``LiveError`` for the caller to show. Reads are cached for the request.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import g

from hub.entities import ASSESSMENT, Assessment, Posting, Stage
from hub.errors import HubError
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Integration

log = logging.getLogger("hub.web.live")


class LiveError(Exception):
    """A vendor call failed; ``message`` is safe to show to the admin."""

    def __init__(self, message: str, status: int = 502):
        super().__init__(message)
        self.message = message
        self.status = status


def plugin_title(plugin: str) -> str:
    runtime = get_runtime()
    spec = runtime.registry.specs.get(plugin)
    return spec.title if spec is not None else plugin


def call_plugin(workspace_id: int, plugin: str, hook: str, **kwargs: Any) -> Any:
    """Call one plugin's ``hook`` with its ``ctx``; raise ``LiveError`` with a safe message on failure."""
    runtime = get_runtime()
    title = plugin_title(plugin)
    if not runtime.registry.implements(plugin, hook):
        raise LiveError(f"{title} does not support this ({hook}).", status=409)
    try:
        ctx = runtime.context(workspace_id, plugin)
        return runtime.registry.call(plugin, hook, ctx=ctx, **kwargs)
    except HubError as exc:
        db.session.rollback()
        raise LiveError(f"{title}: {exc.message}") from exc
    except Exception as exc:  # a vendor or plugin failure is shown, never a 500
        db.session.rollback()
        log.warning("%s.%s failed: %s", plugin, hook, exc, exc_info=True,
                    extra={"workspace_id": workspace_id, "plugin": plugin})
        raise LiveError(f"{title} failed: {exc}") from exc


def _cache() -> dict:
    return g.setdefault("_live_cache", {})


def active_source(workspace_id: int) -> str:
    name = get_runtime().active_source(workspace_id)
    if name is None:
        raise LiveError("No source (ATS) integration is enabled. Enable and connect one under Integrations.",
                        status=409)
    return name


def list_postings(workspace_id: int) -> list[Posting]:
    key = ("postings", workspace_id)
    cache = _cache()
    if key not in cache:
        source = active_source(workspace_id)
        cache[key] = list(call_plugin(workspace_id, source, "source_list_postings") or [])
    return cache[key]


def list_stages(workspace_id: int, posting_id: str | None) -> list[Stage]:
    key = ("stages", workspace_id, posting_id)
    cache = _cache()
    if key not in cache:
        source = active_source(workspace_id)
        cache[key] = list(call_plugin(workspace_id, source, "source_list_stages", posting_id=posting_id) or [])
    return cache[key]


def assessment_plugins(workspace_id: int) -> list[str]:
    """Enabled assessment plugins that can list their assessments."""
    runtime = get_runtime()
    enabled = set(db.session.scalars(sa.select(Integration.plugin).where(
        Integration.workspace_id == workspace_id, Integration.enabled.is_(True))))
    return [name for name in runtime.registry.of_kind(ASSESSMENT)
            if name in enabled and runtime.registry.implements(name, "list_assessments")]


def list_assessments(workspace_id: int) -> tuple[list[tuple[str, Assessment]], list[str]]:
    """Every enabled provider's assessments as (plugin, assessment), and an error per provider that failed."""
    key = ("assessments", workspace_id)
    cache = _cache()
    if key not in cache:
        found: list[tuple[str, Assessment]] = []
        errors: list[str] = []
        for plugin in assessment_plugins(workspace_id):
            try:
                found.extend((plugin, a) for a in call_plugin(workspace_id, plugin, "list_assessments") or [])
            except LiveError as exc:
                errors.append(exc.message)
        cache[key] = (found, errors)
    return cache[key]


def find_posting(workspace_id: int, posting_id: str) -> Posting | None:
    return next((p for p in list_postings(workspace_id) if p.id == posting_id), None)


def find_stage(workspace_id: int, posting_id: str, stage_id: str) -> Stage | None:
    return next((s for s in list_stages(workspace_id, posting_id) if s.id == stage_id), None)


def find_assessment(workspace_id: int, provider: str, assessment_id: str) -> Assessment | None:
    found, errors = list_assessments(workspace_id)
    match = next((a for p, a in found if p == provider and a.id == assessment_id), None)
    if match is None and errors:
        raise LiveError("; ".join(errors))
    return match
