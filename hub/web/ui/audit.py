"""``/audit``: who changed what, newest first."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from hub.web import queries
from hub.web.permissions import require
from hub.web.ui import bp
from hub.web.ui.helpers import filter_text


@bp.get("/audit")
@require("audit.view")
def audit():
    action = filter_text("action", "the action filter")
    page = queries.paginate(queries.audit_query(current_user.workspace_id, action or None),
                            queries.parse_page(request.args.get("page")), per_page=50)
    return render_template("audit/list.html", page=page, action=action)
