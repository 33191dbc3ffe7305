"""``/candidates``: every invitation the user may see (Limited Team Members: only postings they
are on), with filters, search and pagination; a detail page with the timeline and, for Admins,
re-invite and cancel. Both refresh themselves: ``static/hub.js`` re-fetches their ``?fragment=1``
through the same view (so a Limited Team Member's visibility applies to every refresh)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub import services
from hub.entities import INVITATION_STATUSES
from hub.errors import Conflict
from hub.runtime import get_runtime
from hub.web import queries
from hub.web.permissions import can, require, visibility_notice
from hub.web.ui import bp
from hub.web.ui.helpers import filter_text, sentence, this_page_url


@bp.get("/candidates")
@require("candidates.view")
def candidates():
    filters = {
        "status": request.args.get("status") or "",
        "assessment": request.args.get("assessment") or "",
        "posting": request.args.get("posting") or "",
        "q": filter_text("q", "the search"),
    }
    if filters["status"] not in INVITATION_STATUSES:
        filters["status"] = ""
    query = queries.invitations_query(current_user, status=filters["status"] or None,
                                      assessment=filters["assessment"] or None,
                                      posting=filters["posting"] or None, q=filters["q"] or None)
    page = queries.paginate(query, queries.parse_page(request.args.get("page")))
    context = {"page": page, "filters": filters, "posting_names": queries.posting_names(current_user.workspace_id),
               "filtered": any(filters.values()), "pending": _pending()}
    if request.args.get("fragment"):  # the list alone, re-fetched by static/hub.js: the same query, the same view
        return _fragment("candidates/_list.html", context)
    return render_template("candidates/list.html", statuses=INVITATION_STATUSES,
                           options=queries.invitation_filter_options(current_user),
                           return_to=this_page_url(),
                           **context)


def _pending() -> bool:
    """Work waiting anywhere in the workspace (the pages then refresh every 4 s, not 20): shown only
    to those who see every posting, so a Limited Team Member's page does not tell about others'."""
    return can("candidates.view_all") and queries.work_pending(current_user.workspace_id)


def _fragment(template: str, context: dict):
    """A refresh's fragment; 503 when the postings the user may see could not be read, so the page
    keeps what it shows (with its notice) instead of an empty list."""
    if visibility_notice():
        return visibility_notice(), 503, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
    return render_template(template, **context)


@bp.get("/candidates/<int:invitation_id>")
@require("candidates.view")
def candidates_detail(invitation_id: int):
    row = queries.get_visible_invitation(current_user, invitation_id)
    context = {"row": row, "timeline": queries.timeline(row),
               "posting_names": queries.posting_names(current_user.workspace_id),
               "can_reinvite": row.status in services.REINVITABLE, "can_cancel": row.status in services.CANCELLABLE,
               "provider_state": services.provider_state(get_runtime(), current_user.workspace_id, row.provider),
               "pending": _pending()}
    if request.args.get("fragment"):  # re-fetched by static/hub.js, through the same visibility check
        return _fragment("candidates/_detail.html", context)
    return render_template("candidates/detail.html", **context)


@bp.post("/candidates/<int:invitation_id>/reinvite")
@require("invitations.manage")
def candidates_reinvite(invitation_id: int):
    queries.get_visible_invitation(current_user, invitation_id)
    try:
        services.reinvite_invitation(get_runtime(), current_user.workspace_id, invitation_id, current_user)
        flash("The invitation is being sent again.", "success")
    except Conflict as exc:
        flash(sentence(exc.message), "error")
    return redirect(url_for("ui.candidates_detail", invitation_id=invitation_id))


@bp.post("/candidates/<int:invitation_id>/cancel")
@require("invitations.manage")
def candidates_cancel(invitation_id: int):
    row = queries.get_visible_invitation(current_user, invitation_id)
    runtime = get_runtime()
    gone = services.provider_state(runtime, current_user.workspace_id, row.provider) == "gone"
    try:
        services.cancel_invitation(runtime, current_user.workspace_id, invitation_id, current_user)
        flash(f"The invitation is cancelled in the hub; {row.provider} is disconnected, so its vendor was not told."
              if gone else "The invitation is cancelled.", "success")
    except Conflict as exc:
        flash(sentence(exc.message), "error")
    return redirect(url_for("ui.candidates_detail", invitation_id=invitation_id))
