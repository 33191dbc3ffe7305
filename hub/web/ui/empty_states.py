"""What an empty list says: the true reason it is empty, and the next step *for the viewer's role*
(a Team Member cannot attach an assessment or connect an integration: they are told whom to ask,
and only a Super Admin enables and connects an integration).

Each function returns the arguments of the ``empty_state`` macro (``_macros.html``) as a dict:
``id``, ``reason`` (a stable code, rendered as ``data-reason``), ``title``, ``text``, and an
optional action (``action_url``, ``action_label``, ``action_id``).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for

from hub.entities import SOURCE
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Integration
from hub.web import queries
from hub.web.live import assessment_plugins, plugin_title
from hub.web.errors import who_may
from hub.web.permissions import can, visibility_notice, visible_posting_ids


# why a provider invites nobody (``queries.idle_providers``) -> what makes it invite again
IDLE_STEPS = {
    "is disabled": "enable it",
    "has no credentials yet": "enter its credentials",
    "is not connected": "enable and connect it",
    "has its access revoked": "connect it again",
    "needs reconnecting": "connect it again",
}
NOT_INSTALLED = "Whoever runs the hub's server must install it again (and restart the hub)."


def _state(id: str, reason: str, title: str, text: str, action: tuple[str, str, str] | None = None) -> dict:
    url, label, action_id = action if action else (None, None, None)
    return {"id": id, "reason": reason, "title": title, "text": text,
            "action_url": url, "action_label": label, "action_id": action_id}


def _stages(n: int) -> str:
    return f"{n} stage{'' if n == 1 else 's'}"


def _attached(rows, limited: bool) -> str:
    """"2 assessments are attached to 2 stages" (of the viewer's postings, for a Limited Team Member)."""
    n = queries.stage_count(rows)
    what = "1 assessment is" if len(rows) == 1 else f"{len(rows)} assessments are"
    return f"{what} attached to {_stages(n)}{' of your postings' if limited else ''}"


def _integrations_step(what: str) -> str:
    """Who does ``what`` (e.g. "enable and connect it") in Integrations, for the viewer's role."""
    if can("integrations.manage"):
        return f"{what[:1].upper()}{what[1:]} in Integrations."
    if can("integrations.view"):
        return f"A Super Admin can {what} in Integrations."
    return f"Ask a Super Admin to {what}."  # only a Super Admin manages integrations


def _integrations_action(prefix: str, plugin: str | None = None, label: str = "Open Integrations"):
    if not can("integrations.view"):
        return None
    if plugin is not None:
        return url_for("ui.integrations_detail", plugin=plugin), label, f"{prefix}-integrations"
    return url_for("ui.integrations"), label, f"{prefix}-integrations"


def _never_heard_from(workspace_id: int, source: str) -> bool:
    """Whether the source has never sent a webhook to its current URL (nor its ping)."""
    row = get_runtime().integration(workspace_id, source)
    return row is None or (row.verified_at is None and row.last_webhook_at is None)


# why the ATS is idle (``queries.idle_providers``, for one not enabled) -> what makes it send stage changes again
SOURCE_STEPS = {"is disabled": "enable it", "has its access revoked": "connect it again",
                "is not connected": "enable and connect it"}


def idle_sources(workspace_id: int) -> tuple[list[Integration], list[Integration]]:
    """The installed sources (ATS) set up in the workspace but not enabled: those only disabled
    (their connection kept) and those revoked, each in the order they were set up. The banners,
    the empty states and the Dashboard's "No ATS" item all name the same ATS from these."""
    rows = list(db.session.scalars(sa.select(Integration).where(
        Integration.workspace_id == workspace_id, Integration.plugin.in_(get_runtime().registry.of_kind(SOURCE)),
        Integration.enabled.is_(False)).order_by(Integration.id)))
    return ([row for row in rows if row.status != "revoked"], [row for row in rows if row.status == "revoked"])


def idle_source(workspace_id: int) -> dict:
    """For the banner shown while no source (ATS) is enabled and assessments are attached (they
    invite nobody: no stage change reaches the hub): the ATS set up in the workspace (``plugin``,
    ``title``), why it is idle (``why``) and what brings it back (``step``), from the database
    only. The ATS named is the one disabled (its connection kept), else the one revoked
    (``idle_sources``, which the Dashboard's "No ATS" item reads too); ``plugin`` is None when no
    installed ATS was ever set up here, or several are in that state (the banner then names none
    and leads to Integrations)."""
    disabled, revoked = idle_sources(workspace_id)
    named = disabled or revoked
    if len(named) != 1:
        return {"plugin": None, "title": None, "why": None, "step": "enable and connect one"}
    plugin = named[0].plugin
    why = queries.idle_providers(workspace_id, {plugin}).get(plugin, "is disabled")
    return {"plugin": plugin, "title": plugin_title(plugin), "why": why,
            "step": SOURCE_STEPS.get(why, "enable and connect it")}


def _no_source_headline(idle: dict) -> str:
    """"No ATS is enabled" while the one set up is only disabled (its connection kept), else "No
    ATS is connected" (the Dashboard's card words it the same way)."""
    return "No ATS is enabled" if idle["why"] == "is disabled" else "No ATS is connected"


def no_invitations(user, id: str, prefix: str) -> dict:
    """Why ``user`` sees no invitation at all (the candidates list, the dashboard), and what to do."""
    runtime = get_runtime()
    ws = user.workspace_id
    source = runtime.active_source(ws)
    source_title = runtime.registry.title(source) if source else "the ATS"
    if source is not None and visibility_notice():  # a Limited Team Member's postings could not be read
        return _state(id, "unreadable", "Your candidates cannot be shown right now",
                      f"The postings you are on could not be read from {source_title} (the notice above says "
                      f"why). This list fills in once {source_title} answers again; if it stays like this, tell "
                      "an admin.")
    visible = visible_posting_ids(user) if source is not None else None
    if visible is not None and not visible:
        return _state(id, "on-no-posting", "You are on no posting yet",
                      f"As a Limited Team Member you see only the candidates of the postings you are on in "
                      f"{source_title} (as owner, hiring manager or follower), and you are on none yet. Ask an "
                      f"admin to add you to a posting in {source_title}.")
    if source is None:
        also = "" if assessment_plugins(ws) else " (and an assessment provider)"
        idle = idle_source(ws)
        if idle["plugin"] is not None:  # one ATS is set up here, and disabled or revoked: named, with its step
            return _state(id, "no-source", _no_source_headline(idle),
                          f"Candidates come from your ATS (the source), and {idle['title']} {idle['why']}, so no "
                          "candidate can be invited. " + _integrations_step(f"{idle['step']}{also}"),
                          _integrations_action(prefix, idle["plugin"], f"Open {idle['title']}"))
        return _state(id, "no-source", "No ATS is connected",
                      "Candidates come from your ATS (the source), and none is enabled, so no candidate can be "
                      "invited. " + _integrations_step(f"enable and connect it{also}"),
                      _integrations_action(prefix))
    rows = queries.visible_attachments(user)
    limited = visible is not None
    if not rows:
        where = "a stage of your postings" if limited else "a pipeline stage"
        title = f"No assessment is attached to {where} yet"
        if can("pipeline.manage") and not assessment_plugins(ws):
            return _state(id, "no-provider", "No assessment provider is enabled",
                          "Candidates are invited to an assessment attached to a pipeline stage, and no assessment "
                          "provider is enabled yet. " + _integrations_step("enable and connect one")
                          + " Then attach one of its assessments to a stage.",
                          _integrations_action(prefix))
        if can("pipeline.manage"):
            return _state(id, "nothing-attached", title,
                          "Attach an assessment to a pipeline stage: candidates who then enter that stage in "
                          f"{source_title} are invited automatically and appear here.",
                          (url_for("ui.pipeline_new"), "Attach an assessment", f"{prefix}-attach"))
        return _state(id, "nothing-attached", title,
                      f"Candidates appear here once {who_may('pipeline.manage')} attaches an assessment to {where} and "
                      f"a recruiter moves a candidate into that stage in {source_title}. Ask {who_may('pipeline.manage')} "
                      "if you expected one.")
    n = queries.stage_count(rows)
    idle = queries.idle_providers(ws, {row.provider for row in rows})
    if idle and all(row.provider in idle for row in rows):
        why = "; ".join(f"{runtime.registry.title(plugin)} {text}" for plugin, text in sorted(idle.items()))
        plugin = sorted(idle)[0]
        step = IDLE_STEPS.get(idle[plugin], "connect it again") if len(idle) == 1 else "connect them again"
        step = NOT_INSTALLED if idle == {plugin: "is not installed"} else _integrations_step(step)
        return _state(id, "providers-idle", "The attached assessments invite nobody right now",
                      f"{_attached(rows, limited)}, but {why}, so candidates entering "
                      f"{'it' if n == 1 else 'them'} are not invited. " + step,
                      _integrations_action(prefix, plugin, f"Open {runtime.registry.title(plugin)}")
                      if plugin in runtime.registry.specs else _integrations_action(prefix))
    text = (f"{_attached(rows, limited)}: candidates "
            f"appear here when a recruiter moves one into {'that stage' if n == 1 else 'one of those stages'} "
            f"in {source_title}.")
    action = (url_for("ui.pipeline"), "See the attached stages", f"{prefix}-pipeline") if can("pipeline.view") \
        else None
    if can("integrations.view") and _never_heard_from(ws, source):
        text += (f" {source_title} has not sent the hub a webhook yet: "
                 + ("check its webhooks on its integration page." if can("integrations.manage")
                    else "a Super Admin can check its webhooks on its integration page."))
        action = _integrations_action(prefix, source, f"Open {source_title}")
    return _state(id, "waiting-for-candidates", "No candidate invited yet", text, action)


def no_events(user, id: str, prefix: str) -> dict:
    """Why the Activity page lists no event (Admins and Super Admins only), and what to do."""
    runtime = get_runtime()
    ws = user.workspace_id
    source = runtime.active_source(ws)
    if source is None:
        idle = idle_source(ws)
        if idle["plugin"] is not None:
            return _state(id, "no-source", _no_source_headline(idle),
                          f"Events are the webhooks your integrations send, and {idle['title']}, your ATS, "
                          f"{idle['why']}, so no candidate's stage change can arrive. "
                          + _integrations_step(idle["step"]),
                          _integrations_action(prefix, idle["plugin"], f"Open {idle['title']}"))
        return _state(id, "no-source", "No ATS is connected",
                      "Events are the webhooks your integrations send, and no ATS (source) is enabled, so no "
                      "candidate's stage change can arrive. " + _integrations_step("enable and connect it"),
                      _integrations_action(prefix))
    title = runtime.registry.title(source)
    if _never_heard_from(ws, source):
        step = (f"Register its webhooks (or paste the signature token of webhooks set up at {title}) on its "
                "integration page." if can("integrations.manage")
                else "A Super Admin sets up its webhooks on its integration page.")
        return _state(id, "no-webhook-yet", f"{title} has not sent a webhook yet",
                      f"Events appear here once {title} sends the hub a webhook. {step}",
                      _integrations_action(prefix, source, f"Open {title}"))
    rows = queries.attachments(ws)
    if rows:
        n = queries.stage_count(rows)
        return _state(id, "waiting-for-events", "No events yet",
                      f"Events appear here when {title} reports a change, for instance when a recruiter moves a "
                      f"candidate into {'the stage' if n == 1 else 'one of the ' + str(n) + ' stages'} with an "
                      "assessment attached.",
                      (url_for("ui.pipeline"), "See the attached stages", f"{prefix}-pipeline")
                      if can("pipeline.view") else None)
    return _state(id, "nothing-attached", "No events yet",
                  f"Events appear here when {title} reports a change, such as a candidate's stage change. No "
                  "assessment is attached to a stage yet: attach one, so that candidates entering it are invited.",
                  (url_for("ui.pipeline_new"), "Attach an assessment", f"{prefix}-attach")
                  if can("pipeline.manage") else None)
