"""``/audit``: who changed what, newest first."""

from __future__ import annotations

import json
from typing import Any

from flask import render_template, request
from flask_login import current_user

from hub.web import queries
from hub.web.permissions import require
from hub.web.ui import bp
from hub.web.ui.helpers import filter_text, humanize


def audit_details(entry) -> list[tuple[str, str]]:
    """An entry's detail as (label, text) lines: a list of names as "a, b", and an integration's
    settings saved unchanged as "no change" (``changed`` holds only the names of changed fields)."""
    lines = []
    for key, value in (entry.detail or {}).items():
        if key == "changed" and isinstance(value, list):
            text = ", ".join(str(v) for v in value) if value else "no change"
        else:
            text = _text(value)
        lines.append((humanize(key), text))
    return lines


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return ", ".join(str(v) for v in value) if value else "none"
    return json.dumps(value, ensure_ascii=False)


@bp.get("/audit")
@require("audit.view")
def audit():
    action = filter_text("action", "the action filter")
    page = queries.paginate(queries.audit_query(current_user.workspace_id, action or None),
                            queries.parse_page(request.args.get("page")), per_page=50)
    return render_template("audit/list.html", page=page, action=action, audit_details=audit_details)
