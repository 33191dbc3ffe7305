"""``/candidates``: every invitation the user may see (Limited Team Members: only postings they
are on), with filters, search and pagination; a detail page with the timeline and, for Admins,
re-invite and cancel."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub import services
from hub.entities import INVITATION_STATUSES
from hub.errors import Conflict
from hub.runtime import get_runtime
from hub.web import queries
from hub.web.permissions import require
from hub.web.ui import bp


@bp.get("/candidates")
@require("candidates.view")
def candidates():
    filters = {
        "status": request.args.get("status") or "",
        "assessment": request.args.get("assessment") or "",
        "posting": request.args.get("posting") or "",
        "q": (request.args.get("q") or "").strip(),
    }
    if filters["status"] not in INVITATION_STATUSES:
        filters["status"] = ""
    query = queries.invitations_query(current_user, status=filters["status"] or None,
                                      assessment=filters["assessment"] or None,
                                      posting=filters["posting"] or None, q=filters["q"] or None)
    page = queries.paginate(query, queries.parse_page(request.args.get("page")))
    return render_template("candidates/list.html", page=page, filters=filters, statuses=INVITATION_STATUSES,
                           options=queries.invitation_filter_options(current_user),
                           posting_names=queries.posting_names(current_user.workspace_id),
                           filtered=any(filters.values()))


@bp.get("/candidates/<int:invitation_id>")
@require("candidates.view")
def candidates_detail(invitation_id: int):
    row = queries.get_visible_invitation(current_user, invitation_id)
    return render_template("candidates/detail.html", row=row, timeline=queries.timeline(row),
                           posting_names=queries.posting_names(current_user.workspace_id),
                           can_reinvite=row.status in services.REINVITABLE,
                           can_cancel=row.status in services.CANCELLABLE)


@bp.post("/candidates/<int:invitation_id>/reinvite")
@require("invitations.manage")
def candidates_reinvite(invitation_id: int):
    queries.get_visible_invitation(current_user, invitation_id)
    try:
        services.reinvite_invitation(get_runtime(), current_user.workspace_id, invitation_id, current_user)
        flash("The invitation is being sent again.", "success")
    except Conflict as exc:
        flash(exc.message, "error")
    return redirect(url_for("ui.candidates_detail", invitation_id=invitation_id))


@bp.post("/candidates/<int:invitation_id>/cancel")
@require("invitations.manage")
def candidates_cancel(invitation_id: int):
    queries.get_visible_invitation(current_user, invitation_id)
    try:
        services.cancel_invitation(get_runtime(), current_user.workspace_id, invitation_id, current_user)
        flash("The invitation is cancelled.", "success")
    except Conflict as exc:
        flash(exc.message, "error")
    return redirect(url_for("ui.candidates_detail", invitation_id=invitation_id))
