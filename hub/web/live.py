"""Live reads from the vendors for the UI and the API: postings, stages, assessments, and the
connection actions (test, connect, register webhooks).

A vendor being down must never produce a 500: every plugin call goes through ``call_plugin``,
which turns a ``HubError`` (or a plugin's deliberate ``PluginError``) into "<Plugin>: <message>"
and anything else (a bug in the plugin, a library's error it let through) into "<Plugin> failed:
<ExceptionType> (the hub's log has the details)", raised as ``LiveError`` for the caller to show.
An unexpected exception's text is never shown nor stored as the connection's status (a
``KeyError`` says only "'base_url'", and a library's error may quote a URL with a key or a
token): it goes to the log, with the traceback. Naming the plugin is the hub's job (``titled``): a
message that already starts with the plugin's title ("Lever is not connected: ...") is not
prefixed a second time. What a hook returns is checked before it is used; a wrong type is the
plugin's failure, said as such. Reads are cached for the request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from flask import g

from hub.context import status_set_by_plugin
from hub.entities import ASSESSMENT, SOURCE, SOURCE_ATTACHMENT_OPTIONS, ArchiveReason, Assessment, Posting, Stage
from hub.errors import HubError, PluginError
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.crypto import SecretsUnreadable
from hub.store.models import Integration
from hub import services
from hub.services import connection_state  # the pages and the API import it from here too
from hub.words import unexpected_failure, with_article

log = logging.getLogger("hub.web.live")


class LiveError(Exception):
    """A vendor call failed; ``message`` is safe to show to the admin. ``code``: the API's error
    code when it is not the status's (``hub.web.api.common.live_error``)."""

    def __init__(self, message: str, status: int = 502, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


def plugin_title(plugin: str) -> str:
    return get_runtime().registry.title(plugin)


def titled(title: str, message: str) -> str:
    """``message`` naming the plugin once: "<Title>: <message>" unless it already starts with the title."""
    message = str(message)
    if message[:len(title)].lower() == title.lower():
        return message
    return f"{title}: {message}"


def call_plugin(workspace_id: int, plugin: str, hook: str, *, actor: Any = None, **kwargs: Any) -> Any:
    """Call one plugin's ``hook`` with its ``ctx``; raise ``LiveError`` with a safe message on failure.

    ``actor``: who the call is made for (secrets the plugin stores are attributed to them)."""
    runtime = get_runtime()
    title = plugin_title(plugin)
    if not runtime.registry.implements(plugin, hook):
        raise LiveError(f"{title} does not support this ({hook}).", status=409)
    status_set_by_plugin(workspace_id, plugin, forget=True)  # ``mark_connection`` then sees this call's own
    try:
        ctx = runtime.context(workspace_id, plugin, actor=actor)
        return runtime.registry.call(plugin, hook, ctx=ctx, **kwargs)
    except Exception as exc:
        raise _live_error(exc, workspace_id, plugin, hook) from exc


def _live_error(exc: Exception, workspace_id: int | None, plugin: str, hook: str) -> LiveError:
    """What the admin is told of ``exc``, raised by ``plugin``'s ``hook`` (or as its answer was
    read): the message of an error the plugin raised on purpose, the type alone of any other (its
    text may hold a secret: the log has it). Rolls back the session."""
    db.session.rollback()
    title = plugin_title(plugin)
    where = {"workspace_id": workspace_id, "plugin": plugin}
    if isinstance(exc, SecretsUnreadable):  # this process's keys, not the vendor
        log.error("%s.%s: %s", plugin, hook, exc, extra=where)
        from hub.web.ui.helpers import sentence

        return LiveError(sentence(exc), status=503, code="secrets_unreadable")
    if isinstance(exc, HubError):
        return LiveError(titled(title, exc.message))
    if isinstance(exc, PluginError):  # raised on purpose by the plugin, with a message meant for the admin
        log.info("%s.%s: %s: %s", plugin, hook, type(exc).__name__, exc, extra=where)
        return LiveError(titled(title, str(exc)))
    # a vendor or plugin failure is shown, never a 500; its text may hold a secret (a URL with a
    # key, a header): the log only, with the traceback
    log.warning("%s.%s failed: %s: %s", plugin, hook, type(exc).__name__, exc, exc_info=exc, extra=where)
    return LiveError(unexpected_failure(title, exc))


def _items(result: Any, kind: type, plugin: str, hook: str) -> list:
    """The plugin's answer as a list of ``kind``; anything else is the plugin's failure, shown as such."""
    if result is not None and (isinstance(result, (str, bytes, Mapping)) or not isinstance(result, Iterable)):
        # a single item, a dict: ``list()`` of it would fail (a 500) or give its keys
        log.warning("%s.%s returned %s, not a list of %s items", plugin, hook, with_article(type(result).__name__),
                    kind.__name__)
        raise LiveError(f"{plugin_title(plugin)} failed: it returned {with_article(type(result).__name__)}, "
                        f"not a list of {kind.__name__} items")
    try:
        items = list(result or [])
    except Exception as exc:  # a generator of the plugin's, failing as it is read: as if the hook had
        raise _live_error(exc, None, plugin, hook) from exc
    wrong = next((item for item in items if not isinstance(item, kind)), None)
    if wrong is not None:
        log.warning("%s.%s returned %s item, not %s", plugin, hook, with_article(type(wrong).__name__),
                    with_article(kind.__name__))
        raise LiveError(f"{plugin_title(plugin)} failed: it returned {type(wrong).__name__} items, not {kind.__name__}")
    return items


def _cache() -> dict:
    return g.setdefault("_live_cache", {})


def active_source(workspace_id: int) -> str:
    name = get_runtime().active_source(workspace_id)
    if name is None:
        raise LiveError("No source (ATS) integration is enabled: a Super Admin enables and connects one under "
                        "Integrations.",
                        status=409)
    return name


def _request_source(workspace_id: int) -> str:
    """``active_source``, read once per request (a page may read many live lists of it)."""
    cache = _cache()
    key = ("source", workspace_id)
    if key not in cache:
        cache[key] = active_source(workspace_id)
    return cache[key]


def list_postings(workspace_id: int) -> list[Posting]:
    key = ("postings", workspace_id)
    cache = _cache()
    if key not in cache:
        source = _request_source(workspace_id)
        cache[key] = _items(call_plugin(workspace_id, source, "source_list_postings"), Posting, source,
                            "source_list_postings")
    return cache[key]


def list_stages(workspace_id: int, posting_id: str | None) -> list[Stage]:
    """The source's stages for ``posting_id``: read once per request for each posting, or once in
    all when the source's stages are the same for every posting (``IntegrationSpec.stages_per_posting``)."""
    cache = _cache()
    source = _request_source(workspace_id)
    if not get_runtime().registry.spec(source).stages_per_posting:
        posting_id = None
    key = ("stages", workspace_id, posting_id)
    if key not in cache:
        cache[key] = _items(call_plugin(workspace_id, source, "source_list_stages", posting_id=posting_id), Stage,
                            source, "source_list_stages")
    return cache[key]


def list_archive_reasons(workspace_id: int) -> list[ArchiveReason] | None:
    """The source's archive reasons, or None when the source does not list them."""
    key = ("archive_reasons", workspace_id)
    cache = _cache()
    if key not in cache:
        source = _request_source(workspace_id)
        if not get_runtime().registry.implements(source, "source_list_archive_reasons"):
            cache[key] = None
        else:
            cache[key] = _items(call_plugin(workspace_id, source, "source_list_archive_reasons"), ArchiveReason,
                                source, "source_list_archive_reasons")
    return cache[key]


def assessment_plugins(workspace_id: int) -> list[str]:
    """Enabled assessment plugins that can list their assessments."""
    runtime = get_runtime()
    enabled = set(db.session.scalars(sa.select(Integration.plugin).where(
        Integration.workspace_id == workspace_id, Integration.enabled.is_(True))))
    return [name for name in runtime.registry.of_kind(ASSESSMENT)
            if name in enabled and runtime.registry.implements(name, "list_assessments")]


def provider_assessments(workspace_id: int, plugin: str) -> list[Assessment]:
    """One provider's assessments, read once per request (its failure too); raises ``LiveError``."""
    key = ("assessments", workspace_id, plugin)
    cache = _cache()
    if key not in cache:
        try:
            answer = call_plugin(workspace_id, plugin, "list_assessments")
            cache[key] = _items(answer, Assessment, plugin, "list_assessments")
        except LiveError as exc:
            cache[key] = exc
    if isinstance(cache[key], LiveError):
        failed = cache[key]
        raise LiveError(failed.message, failed.status, failed.code)
    return cache[key]


def list_assessments(workspace_id: int) -> tuple[list[tuple[str, Assessment]], list[str]]:
    """Every enabled provider's assessments as (plugin, assessment), and an error per provider that failed."""
    found: list[tuple[str, Assessment]] = []
    errors: list[str] = []
    for plugin in assessment_plugins(workspace_id):
        try:
            found.extend((plugin, a) for a in provider_assessments(workspace_id, plugin))
        except LiveError as exc:
            errors.append(exc.message)
    return found, errors


def find_posting(workspace_id: int, posting_id: str) -> Posting | None:
    return next((p for p in list_postings(workspace_id) if p.id == posting_id), None)


def find_stage(workspace_id: int, posting_id: str, stage_id: str) -> Stage | None:
    return next((s for s in list_stages(workspace_id, posting_id) if s.id == stage_id), None)


def find_assessment(workspace_id: int, provider: str, assessment_id: str) -> Assessment | None:
    """``provider``'s assessment ``assessment_id``, or None; only that provider is asked, so
    ``LiveError`` says its problem alone (another provider being down is no reason to refuse)."""
    return next((a for a in provider_assessments(workspace_id, provider) if a.id == assessment_id), None)


# --------------------------------------------------------------------------- connection actions


_UNSET: Any = object()


def mark_connection(workspace_id: int, plugin: str, before: str, ok: bool, message: str, *,
                    before_message: str | None = _UNSET) -> None:
    """After a successful (or failed) vendor call, record the health unless the plugin set it itself.

    If the plugin set its status in the call (``ctx.set_status``, even to the values it had), it
    stays; so does one that changed meanwhile otherwise: ``before`` is the status before the call
    (and ``before_message``, when given, its message). Else
    the status becomes "connected" or "error" with ``message``: a success's message (a test's
    "Canditech is connected: 4 assessments") is kept, as a failure's is; a success without one
    keeps a connected integration's message ("connected to ... (4 assessments)"), or clears the
    message of the failure it ends. A plugin that answered wakes its own work that waited for its
    reconnection (``hub.engine.runner.wake_waiting_for_reconnection``), and a source the other
    plugins' work that waited for it (``hub.engine.runner.wake_waiting_on_source``)."""
    _record_health(workspace_id, plugin, before, ok, message, before_message)
    if ok:
        # it answers: the work that waited for its reconnection goes on now
        from hub.engine.runner import wake_waiting_for_reconnection, wake_waiting_on_source

        try:
            wake_waiting_for_reconnection(get_runtime(), workspace_id, plugin)
            if get_runtime().registry.spec(plugin).kind == SOURCE:
                wake_waiting_on_source(get_runtime(), workspace_id, plugin)
        except Exception:  # a help only: the waiting work still runs at its own time
            db.session.rollback()
            log.warning("the work waiting for %s could not be woken after it answered", plugin, exc_info=True)


def _record_health(workspace_id: int, plugin: str, before: str, ok: bool, message: str, before_message) -> None:
    row = db.session.get(Integration, get_runtime().integration(workspace_id, plugin).id, populate_existing=True)
    if status_set_by_plugin(workspace_id, plugin) or row.status != before \
            or (before_message is not _UNSET and row.status_message != before_message):
        return
    if ok and not message:
        message = row.status_message if row.status == "connected" else None
    row.status = "connected" if ok else "error"
    row.status_message = message[:1000] if message else None
    db.session.commit()


def run_test(workspace_id: int, plugin: str, actor) -> str:
    """Shared by the page and the API: test the connection; raises ``LiveError``.

    Without credentials nothing is called and the state is left as it is (a revoked or new
    integration does not become "Error" because someone pressed Test)."""
    row = services.get_integration(get_runtime(), workspace_id, plugin)
    before, before_message = row.status, row.status_message
    state = connection_state(workspace_id, plugin, row)
    title = plugin_title(plugin)
    if not state.credentials_present:
        raise LiveError(f"{title} has no credentials yet, so there is nothing to test: "
                        + services.credentials_how(get_runtime().registry.spec(plugin), state) + ".", status=409)
    try:
        # no actor: what the plugin stores while testing (a refreshed token) was not entered by the tester
        message = call_plugin(workspace_id, plugin, "test_connection")
        if message is not None and not isinstance(message, str):  # the contract: a message, or None
            log.warning("%s.test_connection returned %s, not a str (a message for the admin) or None", plugin,
                        with_article(type(message).__name__),
                        extra={"workspace_id": workspace_id, "plugin": plugin})
            raise LiveError(f"{title} failed: its test_connection returned {with_article(type(message).__name__)}, "
                            "not a message (str) for the admin: a bug in the plugin")
    except LiveError as exc:
        if exc.status == 502:  # the vendor answered badly (not "this plugin cannot test")
            mark_connection(workspace_id, plugin, before, False, exc.message, before_message=before_message)
        services.audit(workspace_id, actor, "integration.test", f"plugin:{plugin}", ok=False)
        db.session.commit()
        raise
    mark_connection(workspace_id, plugin, before, True, message or "", before_message=before_message)
    services.audit(workspace_id, actor, "integration.test", f"plugin:{plugin}", ok=True)
    db.session.commit()
    return message or "Connection works."


def run_setup_webhooks(workspace_id: int, plugin: str, actor) -> str:
    runtime = get_runtime()
    services.get_integration(runtime, workspace_id, plugin)
    spec = runtime.registry.spec(plugin)
    if not spec.supports_webhook_setup:
        raise LiveError(f"{spec.title} cannot register webhooks through its API: set them up at {spec.title} "
                        "(see the integration's page for the URL).", status=409)
    if not connection_state(workspace_id, plugin).credentials_present:
        raise LiveError(f"{spec.title} has no credentials yet: connect it first.", status=409)
    message = call_plugin(workspace_id, plugin, "setup_webhooks", actor=actor)
    services.audit(workspace_id, actor, "integration.webhooks_setup", f"plugin:{plugin}")
    db.session.commit()
    if message is not None and not isinstance(message, str):  # done all the same: only its words are wrong
        log.warning("%s.setup_webhooks returned %s, not a message (str) for the admin", plugin,
                    with_article(type(message).__name__))
        message = None
    return message or "Webhooks registered."


# --------------------------------------------------------------------------- attachments


def hired_reason_error(name: str) -> str:
    """The error for an archive reason meant for hired candidates chosen for a thumbs down."""
    return (f"“{name}” is a reason for archiving a hired candidate, not a rejected one: choose another reason, "
            "or Do not archive.")


CHOICES_NOT_VALID = "some choices are not valid"  # the message of resolve_attachment's refusal, before the fields


def source_attachment_options(workspace_id: int) -> tuple[str, ...]:
    """The attachment options the workspace's source acts on (``IntegrationSpec.attachment_options``;
    every one for a source that does not say, or while there is no source)."""
    source = get_runtime().active_source(workspace_id)
    spec = get_runtime().registry.specs.get(source) if source else None
    declared = spec.attachment_options if spec is not None else None
    return SOURCE_ATTACHMENT_OPTIONS if declared is None else tuple(declared)


def options_not_acted_on(workspace_id: int, options: dict | None) -> dict[str, list[str]]:
    """An error for each option given a value that the workspace's source does not act on."""
    acted_on = source_attachment_options(workspace_id)
    given = [name for name in SOURCE_ATTACHMENT_OPTIONS
             if name not in acted_on and (options or {}).get(name) not in (None, "")]
    if not given:
        return {}
    title = plugin_title(get_runtime().active_source(workspace_id))
    return {name: [f"{title} does not act on this option: leave it out."] for name in given}


def provider_idle(workspace_id: int, provider: str) -> str:
    """Why ``provider`` is not an assessment provider whose assessments can be listed now, in words
    after its title: "is disabled", "has its access revoked" (``hub.web.queries.idle_providers``),
    else "cannot list its assessments"."""
    from hub.web.queries import idle_providers

    return idle_providers(workspace_id, [provider]).get(provider) or "cannot list its assessments"


def unchangeable_assessment(workspace_id: int, provider: str, kept_name: str) -> str:
    """The refusal of another assessment of ``provider``, the provider of the attachment being
    edited, while it cannot list its assessments: the change cannot be checked, the current one
    (``kept_name``) can be kept."""
    title = plugin_title(provider)
    return (f"{title} {provider_idle(workspace_id, provider)}: its assessments cannot be read, so the assessment "
            f"cannot be changed now. Keep the current one ({kept_name}) to save the other fields, or choose "
            f"another once {title} can be read again.")


def resolve_attachment(workspace_id: int, posting_id: str, stage_id: str, provider: str, assessment_id: str,
                       options: dict | None = None, current_options: dict | None = None,
                       current: Any = None) -> dict:
    """The values ``services.save_attachment`` needs, with the names read live from the vendors.

    Raises ``ValidationFailed`` naming the field whose id the vendor does not know (or that is
    missing): ``posting_id``, ``stage_id``, ``provider``, ``assessment_id`` or an option (the
    names of the arguments and of the API's fields; the page shows ``provider`` and
    ``assessment_id`` at its one assessment choice); and ``LiveError`` when a vendor cannot be asked.
    ``current_options``: the options of the attachment being edited; an archive reason it already
    has is kept even if the source no longer offers it (editing another field must not require
    changing it).

    ``current``: the attachment being edited (its stored ids and names). What it already has and
    a vendor cannot be asked about now is kept with the name stored, as the hub has shown it: the
    posting and stage while no source is enabled or it fails (and then a stage to move to that is
    unchanged), the assessment while its provider is disabled, revoked, not installed or failing.
    Changing the pass threshold must not need every vendor up. A change of what cannot be checked
    is refused: the source's ``LiveError``, or the provider's (``unchangeable_assessment`` for
    another assessment of the attachment's provider that is not enabled). What a vendor can be
    asked about is checked as before, even unchanged (a stage gone, an assessment gone), and takes
    the vendor's current name.
    """
    from hub.errors import ValidationFailed

    def unchanged(**ids: str) -> bool:
        return current is not None and all(getattr(current, name) == value for name, value in ids.items())

    errors: dict[str, list[str]] = {}
    posting = stage = assessment = None
    source_failure: LiveError | None = None  # the source cannot be asked: the stored posting and stage are kept
    if not posting_id:
        errors["posting_id"] = ["Choose a posting."]
    else:
        try:
            posting = find_posting(workspace_id, posting_id)
        except LiveError as exc:
            if not unchanged(posting_id=posting_id):
                raise
            source_failure = exc
            posting = Posting(posting_id, current.posting_name)
        if posting is None:
            errors["posting_id"] = ["This posting does not exist (any more) at the source."]
    if not stage_id:
        errors["stage_id"] = ["Choose a stage."]
    elif posting is not None:
        if source_failure is None:
            try:
                stage = find_stage(workspace_id, posting_id, stage_id)
            except LiveError as exc:
                if not unchanged(posting_id=posting_id, stage_id=stage_id):
                    raise
                source_failure = exc
        if source_failure is not None:
            if not unchanged(posting_id=posting_id, stage_id=stage_id):
                raise source_failure
            stage = Stage(stage_id, current.stage_name)
        elif stage is None:
            errors["stage_id"] = ["This stage does not exist (any more) at the source."]
    if not provider or not assessment_id:
        if not provider:
            errors["provider"] = ["Choose an assessment provider."]
        if not assessment_id:
            errors["assessment_id"] = ["Choose an assessment."]
    elif provider not in assessment_plugins(workspace_id):
        if unchanged(provider=provider, assessment_id=assessment_id):
            assessment = Assessment(assessment_id, current.assessment_name)
        elif unchanged(provider=provider):
            errors["assessment_id"] = [unchangeable_assessment(workspace_id, provider, current.assessment_name)]
        else:
            errors["provider"] = [f"“{plugin_title(provider)}” is not an enabled assessment provider."]
    else:
        try:
            assessment = find_assessment(workspace_id, provider, assessment_id)
        except LiveError:
            if not unchanged(provider=provider, assessment_id=assessment_id):
                raise
            assessment = Assessment(assessment_id, current.assessment_name)
        else:
            if assessment is None:
                errors["assessment_id"] = ["This assessment does not exist (any more) at the provider."]
    errors.update(options_not_acted_on(workspace_id, options))
    move_to = (options or {}).get("move_to_stage_on_thumbs_up")
    if move_to and "move_to_stage_on_thumbs_up" not in errors and posting is not None:
        if source_failure is not None:
            if move_to != (current_options or {}).get("move_to_stage_on_thumbs_up"):
                raise source_failure  # a new stage to move to cannot be checked
        elif find_stage(workspace_id, posting_id, move_to) is None:
            errors["move_to_stage_on_thumbs_up"] = ["This stage does not exist at the source."]
    reason = (options or {}).get("archive_reason_on_thumbs_down")
    if (reason and "archive_reason_on_thumbs_down" not in errors and posting is not None
            and reason != (current_options or {}).get("archive_reason_on_thumbs_down")):
        if source_failure is not None:
            raise source_failure  # a new archive reason cannot be checked
        reasons = list_archive_reasons(workspace_id)
        found = next((r for r in reasons or () if r.id == reason), None)
        if reasons is not None and found is None:
            errors["archive_reason_on_thumbs_down"] = ["This archive reason does not exist at the source."]
        elif found is not None and found.for_hired:
            errors["archive_reason_on_thumbs_down"] = [hired_reason_error(found.name)]
    if errors:
        raise ValidationFailed(f"{CHOICES_NOT_VALID}: " + ", ".join(sorted(errors)), errors)
    return {
        "posting_id": posting.id, "posting_name": posting.title, "stage_id": stage.id, "stage_name": stage.name,
        "provider": provider, "assessment_id": assessment.id, "assessment_name": assessment.name,
        "options": {k: v for k, v in (options or {}).items() if v not in (None, "")},
    }
