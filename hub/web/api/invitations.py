"""``/api/v1/invitations``: list (filters, search, a candidate's by their opportunity id, pages), one
with its timeline, re-invite, cancel.
Limited Team Members see only the postings they are on, as on the page; while those postings
cannot be read (the ATS down or disabled), the list and any invitation answer 503 with the
pages' notice (``hub.web.permissions.unreadable_notice``), not an empty list or 404."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from hub import services
from hub.entities import OPEN_STATUSES
from hub.errors import NotFound, ServiceUnavailable
from hub.links import web_link
from hub.runtime import get_runtime
from hub.store.models import Invitation
from hub.web import queries
from hub.web.api import bp
from hub.web.api.common import load_body, older_than, query_args, takes_query
from hub.web.permissions import require, visibility_notice
from hub.web.schemas import EmptySchema, InvitationDetailSchema, InvitationQuerySchema, InvitationSchema


def invitation_dict(row, names: dict[str, str], with_timeline: bool = False) -> dict:
    posting_id = row.posting_id or (row.attachment.posting_id if row.attachment else None)
    data = {column: getattr(row, column) for column in InvitationSchema().fields if hasattr(row, column)}
    data["posting_id"] = posting_id
    data["posting_name"] = names.get(posting_id) if posting_id else None
    data["invite_url"] = web_link(row.invite_url) if row.status in OPEN_STATUSES else None  # as the candidate's page
    if with_timeline:
        data["timeline"] = queries.timeline(row)
    return data


def unreadable():
    """A Limited Team Member's request while the postings they are on cannot be read: 503 with the
    notice the pages show (a plain sentence, no vendor error), whatever the id asked for."""
    response = jsonify({"error": {"code": ServiceUnavailable.code, "message": visibility_notice()}})
    response.status_code = 503
    response.headers["Retry-After"] = "60"
    return response


@bp.get("/invitations")
@require("candidates.view")
@takes_query(InvitationQuerySchema)
def list_invitations():
    args = query_args()
    query = queries.invitations_query(current_user, status=args.get("status"), assessment=args.get("assessment"),
                                      posting=args.get("posting"), q=args.get("q"))
    if "opportunity" in args:  # a candidate by the id a script holds from the ATS, exactly
        query = query.where(Invitation.opportunity_id == args["opportunity"])
    if "updated_since" in args:  # a sync's "what changed since I last read"
        query = query.where(Invitation.updated_at >= args["updated_since"])
    query = older_than(query, Invitation.id, args)
    if visibility_notice():  # read by invitations_query: nothing is visible, and she must be told why
        return unreadable()
    page = queries.paginate(query, args["page"], args["per_page"])
    names = queries.posting_names(current_user.workspace_id)
    return jsonify({"items": InvitationSchema(many=True).dump([invitation_dict(r, names) for r in page.items]),
                    "page": page.page, "per_page": page.per_page, "total": page.total, "pages": page.pages})


def _detail(invitation_id: int):
    try:
        row = queries.get_visible_invitation(current_user, invitation_id)
    except NotFound:
        if visibility_notice():
            return unreadable()
        raise
    names = queries.posting_names(current_user.workspace_id)
    return jsonify(InvitationDetailSchema().dump(invitation_dict(row, names, with_timeline=True)))


@bp.get("/invitations/<int:invitation_id>")
@require("candidates.view")
def get_invitation(invitation_id: int):
    return _detail(invitation_id)


@bp.post("/invitations/<int:invitation_id>/reinvite")
@require("invitations.manage")
def reinvite(invitation_id: int):
    load_body(EmptySchema)
    queries.get_visible_invitation(current_user, invitation_id)
    services.reinvite_invitation(get_runtime(), current_user.workspace_id, invitation_id, current_user)
    return _detail(invitation_id)


@bp.post("/invitations/<int:invitation_id>/cancel")
@require("invitations.manage")
def cancel(invitation_id: int):
    load_body(EmptySchema)
    queries.get_visible_invitation(current_user, invitation_id)
    services.cancel_invitation(get_runtime(), current_user.workspace_id, invitation_id, current_user)
    return _detail(invitation_id)
