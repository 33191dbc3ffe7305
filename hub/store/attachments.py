"""Reading one attachment of a workspace: the lookup the admin pages, the API and the engine
(``hub.engine.backfill``) share."""

from __future__ import annotations

from hub.errors import NotFound
from hub.extensions import db
from hub.store.models import Attachment


def get_attachment(workspace_id: int, attachment_id: int, *, fresh: bool = False) -> Attachment:
    """The attachment ``attachment_id`` of ``workspace_id``; ``NotFound`` when there is none, it
    belongs to another workspace, or it is detached. ``fresh`` reads its row from the database
    again even if the session holds it already (overwriting the session's copy), so a detach
    committed meanwhile by another request is seen."""
    row = db.session.get(Attachment, attachment_id, populate_existing=fresh)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("no such attachment")
    if row.detached_at is not None:  # e.g. Back after detaching it: say what happened
        raise NotFound(f"{row.assessment_name} was detached from “{row.stage_name}” of {row.posting_name}; attach "
                       "it again on Pipeline if candidates entering that stage should get it")
    return row
