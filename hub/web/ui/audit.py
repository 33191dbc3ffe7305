"""``/audit``: who changed what, newest first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import render_template, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from hub.extensions import db
from hub.runtime import get_runtime
from hub.setting_labels import field_label, schema_labels
from hub.store.models import (
    ID32_MAX, ID64_MAX, ROLE_LABELS, Attachment, Delivery, Invitation, parse_table_id,
)
from hub.web import queries
from hub.web.live import plugin_title
from hub.web.permissions import require
from hub.web.ui import bp
from hub.web.ui.activity import delivery_words, event_subjects
from hub.web.ui.helpers import humanize
from hub.web.ui.labels import AUDIT_ACTIONS, AUDIT_GROUPS, action_filter_label, action_label
from hub.web.ui.list_filters import ListArgs


# the largest id of a target's table, by kind: deliveries (and events) have 64-bit ids
ID_LIMITS = {"delivery": ID64_MAX}

# detail keys whose value is a role (user.create, user.role): shown as the role's name
ROLE_KEYS = {"role", "old", "new"}


@dataclass(frozen=True)
class Target:
    """What an audit entry is about, for people: a name, and the page that shows it (or None)."""

    text: str
    url: str | None = None


def audit_targets(entries) -> dict[int, Target]:
    """Entry id -> its target by name: a plugin's title (``plugin:lever`` -> "Lever"), a user's
    email, an API token's name, an attachment as its assessment, stage and posting, an invitation
    as its candidate, a delivery as Activity names it. Attachments, invitations and deliveries are
    read in one query each, in the viewer's workspace only; one no longer found keeps its kind and
    id ("Attachment 7", "Delivery 12, no longer kept")."""
    ids = {"attachment": set(), "invitation": set(), "delivery": set()}
    for entry in entries:
        kind, _, key = (entry.target or "").partition(":")
        if kind in ids and (row_id := parse_table_id(key, ID_LIMITS.get(kind, ID32_MAX))) is not None:
            ids[kind].add(row_id)
    workspace = current_user.workspace_id
    attachments = {row.id: row for row in db.session.scalars(sa.select(Attachment).where(
        Attachment.workspace_id == workspace, Attachment.id.in_(ids["attachment"])))} if ids["attachment"] else {}
    invitations = {row.id: row for row in db.session.scalars(sa.select(Invitation).where(
        Invitation.workspace_id == workspace, Invitation.id.in_(ids["invitation"])))} if ids["invitation"] else {}
    deliveries = _deliveries(workspace, ids["delivery"]) if ids["delivery"] else {}
    return {entry.id: _target(entry.target or "", attachments, invitations, deliveries) for entry in entries}


def _deliveries(workspace: int, delivery_ids: set[int]) -> dict[int, Target]:
    """Delivery id -> its target as Activity names it ("“Invite on the stage change” for Ada
    Lovelace (Canditech)", ``activity.delivery_words``), linked to its event there; read with their
    events in one query, and whom the events are about in one more."""
    rows = list(db.session.scalars(sa.select(Delivery).where(
        Delivery.workspace_id == workspace, Delivery.id.in_(delivery_ids)).options(joinedload(Delivery.event))))
    subjects = event_subjects([row.event for row in rows])
    return {row.id: Target(delivery_words(row, subjects), url_for("ui.activity", event=row.event_id)) for row in rows}


def _target(target: str, attachments: dict, invitations: dict, deliveries: dict | None = None) -> Target:
    kind, _, key = target.partition(":")
    if kind == "plugin" and key:  # linked while installed (an uninstalled plugin's page is a 404)
        installed = key in get_runtime().registry.specs
        return Target(plugin_title(key), url_for("ui.integrations_detail", plugin=key) if installed else None)
    if kind == "user" and key:
        return Target(key)
    if kind == "token" and key:
        return Target(f"API token “{key}”")
    if kind == "attachment" and (row := attachments.get(parse_table_id(key))) is not None:
        text = f"{row.assessment_name} on “{row.stage_name}” of {row.posting_name}"
        return Target(text if row.detached_at is None else text + " (detached)",
                      None if row.detached_at is not None else url_for("ui.pipeline_edit", attachment_id=row.id))
    if kind == "invitation" and (row := invitations.get(parse_table_id(key))) is not None:
        return Target(f"{row.candidate_name or 'Unknown candidate'}: {row.assessment_name}",
                      url_for("ui.candidates_detail", invitation_id=row.id))
    if kind == "delivery" and key:  # one retention deleted (with its event) keeps its number
        found = (deliveries or {}).get(parse_table_id(key, ID64_MAX))
        return found if found is not None else Target(f"Delivery {key}, no longer kept")
    if kind and key:
        return Target(f"{humanize(kind)} {key}")
    return Target(target)


# detail keys whose generic name says too little on the page; any other key is its name in words,
# acronyms capitalised ("api_tokens_revoked" -> "API tokens revoked", ``field_label``)
DETAIL_LABELS = {
    "cancelled_deliveries": "Deliveries cancelled",
    "in_stage": "Candidates in the stage",
    "queued": "Invitations queued",
    "already_queued": "Still being delivered",
    "bulk": "Bulk replay",
}


def audit_details(entry) -> list[tuple[str, str]]:
    """An entry's detail as (label, text) lines, the label empty when the text says it all: a list
    of names as "a, b"; an integration's settings or an attachment saved unchanged as "No field
    changed" (``changed`` holds only the names of changed fields, by the labels of their form); a
    role by its name ("Team Member", not ``team_member``); a connection test's ``ok`` as "Result: Succeeded" or "Failed";
    another yes/no value as "Yes" or "No", not JSON's ``true``."""
    lines = []
    for key, value in (entry.detail or {}).items():
        label = DETAIL_LABELS.get(key) or field_label(key, None)
        if key == "changed" and isinstance(value, list):
            if not value:
                lines.append(("", "No field changed"))
                continue
            labels = _setting_labels(entry.target or "")
            text = ", ".join(labels.get(str(v), str(v)) for v in value)
        elif key == "ok" and isinstance(value, bool):
            label, text = "Result", "Succeeded" if value else "Failed"
        elif key in ROLE_KEYS and isinstance(value, str) and value in ROLE_LABELS:
            text = ROLE_LABELS[value]
        else:
            text = _text(value)
        lines.append((label, text))
    return lines


# an attachment's fields as its audit entry names them (``services.save_attachment``) -> the labels
# of the attach form (pipeline/attach.html)
ATTACHMENT_FIELD_LABELS = {
    "posting": "Posting", "stage": "Stage", "assessment": "Assessment", "pass_threshold": "Pass threshold (%)",
    "move_to_stage_on_thumbs_up": "On thumbs up, move to stage",
    "archive_reason_on_thumbs_down": "On thumbs down, archive with reason",
    "remind_on_reentry": "Remind an invited candidate who re-enters the stage",
    "tag_results": "Tag the candidate with the result in the ATS",
}


def _setting_labels(target: str) -> dict[str, str]:
    """An installed plugin's setting names -> the labels its settings form shows ("auth_mode" ->
    "Authentication"), an attachment's fields -> the attach form's labels; empty for any other target."""
    if target.startswith("attachment:"):
        return ATTACHMENT_FIELD_LABELS
    kind, _, plugin = target.partition(":")
    spec = get_runtime().registry.specs.get(plugin) if kind == "plugin" else None
    if spec is None or spec.settings_schema is None:
        return {}
    return schema_labels(spec.settings_schema)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return ", ".join(_text(v) if isinstance(v, bool) else str(v) for v in value) if value else "none"
    return json.dumps(value, ensure_ascii=False)


@bp.get("/audit")
@require("audit.view")
def audit():
    """The entries whose action starts with ``action``, made by ``user`` (a user of the workspace,
    or ``none``: no signed-in user), 50 a page (``page``); a value it cannot use
    is replaced, with a notice in the filter area, and the page still answers 200
    (``hub.web.ui.list_filters``). The filter is a list of the actions by group
    (``labels.AUDIT_GROUPS``), each submitting its code or its group's beginning ("user."); any
    other beginning, from a link made before, still filters and is offered as it is."""
    args = ListArgs()
    action = args.text("action", "The action filter")
    people = queries.users(current_user.workspace_id)
    who = args.choice("user", [str(person.id) for person in people] + [queries.NO_USER], "person", "everyone's")
    user = who if who == queries.NO_USER else int(who) if who else None
    page = queries.paginate(queries.audit_query(current_user.workspace_id, action or None, user), args.page(),
                            per_page=50, count_limit=queries.COUNT_LIMIT)
    offered = set(AUDIT_ACTIONS) | {group.prefix for group in AUDIT_GROUPS}
    return render_template("audit/list.html", page=page, action=action, who=who, people=people,
                           no_user=queries.NO_USER, filtered=bool(action or who), audit_details=audit_details,
                           targets=audit_targets(page.items), notices=args.notices, action_groups=AUDIT_GROUPS,
                           action_label=action_label, action_shown=action_filter_label(action) if action else "",
                           other_action=action if action and action not in offered else "",
                           no_match=(f"No recorded action starts with “{action}”" if action and action not in offered
                                     else f"Nothing recorded matches “{action_filter_label(action)}”" if action
                                     else "Nothing recorded was done by this person")
                           + (": choose another action or person, or clear the filters." if who
                              else ": choose another action, or clear the filters."))
