"""Reading one attachment of a workspace: the lookup the admin pages, the API and the engine
(``hub.engine.backfill``) share."""

from __future__ import annotations

from hub.errors import NotFound
from hub.extensions import db
from hub.store.models import Attachment

ON_PIPELINE = "on Pipeline"


class AttachmentDetached(NotFound):
    """``NotFound`` for an attachment that was detached. Its message names the assessment, the
    stage and the posting, and says how to attach it again in the admin pages' words (on
    Pipeline); ``saying(how)`` is the message with another way, e.g. the API's request."""

    def __init__(self, row: Attachment):
        # names, not the row: the error may outlive the session that loaded it
        self.names = (row.assessment_name, row.stage_name, row.posting_name)
        super().__init__(self.saying(ON_PIPELINE))

    def saying(self, how: str) -> str:
        """The message saying to attach it again ``how`` (e.g. "with POST /api/v1/attachments")."""
        assessment, stage, posting = self.names
        return (f"{assessment} was detached from “{stage}” of {posting}; attach it again {how} if candidates "
                "entering that stage should get it")


def get_attachment(workspace_id: int, attachment_id: int, *, fresh: bool = False) -> Attachment:
    """The attachment ``attachment_id`` of ``workspace_id``; ``NotFound`` when there is none or it
    belongs to another workspace, ``AttachmentDetached`` (a ``NotFound``) when it is detached.
    ``fresh`` reads its row from the database again even if the session holds it already
    (overwriting the session's copy), so a detach committed meanwhile by another request is seen."""
    row = db.session.get(Attachment, attachment_id, populate_existing=fresh)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("no such attachment")
    if row.detached_at is not None:  # e.g. Back after detaching it: say what happened
        raise AttachmentDetached(row)
    return row
