"""HTML pages of the Lever sandbox (plain forms, inline CSS, no JavaScript, no CDN).

Contract:
- ``GET /`` (and ``/candidates``): candidates with email, posting, stage, archived, tags and
  notes count; per candidate a labelled ``<select id="move-<oppId>">`` of stages and a "Move"
  button (``id="move-<oppId>-button"``) in a form POSTing to ``/candidates/<oppId>/move``.
- ``GET /candidates/<id>``: the profile (``urls.show``) with stage history, notes and tags, the
  same move form, and archive/unarchive and hire forms.
- ``POST /candidates/<id>/move|archive|hire``: the same actions as the control API (they fire
  webhooks), then a redirect back (``next``, a local path, or the candidate list).
- ``GET /settings/webhooks``: webhooks with "Verify connection" (``id="verify-<webhookId>"``),
  enable/disable and regenerate-token buttons, a form to add a webhook (its token is shown
  once), and the most recent delivery results.
"""

from __future__ import annotations

import datetime

from flask import Blueprint, abort, redirect, render_template, request, url_for

from .context import get_sandbox
from .control_webhooks import create_manual_webhook, verify_connection
from .errors import LeverError
from .render import note_obj
from .state import EVENTS

bp = Blueprint("lever_ui", __name__)
RECENT_DELIVERIES = 50


@bp.app_template_filter("ms")
def format_ms(value: int | None) -> str:
    """Render a Lever ms timestamp as UTC date and time."""
    if value is None:
        return "—"
    moment = datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _candidate_rows() -> list[dict]:
    state = get_sandbox().state
    with state.lock:
        rows = []
        for opp in state.opportunities.values():
            posting_id = state.posting_of(opp)
            rows.append({
                "id": opp["id"], "name": opp["name"], "email": ", ".join(opp["emails"]),
                "posting": state.postings[posting_id]["text"] if posting_id else "",
                "stage_id": opp["stage"], "stage": state.stages[opp["stage"]]["text"],
                "archived": (state.archive_reasons[opp["archived"]["reason"]]["text"]
                             if opp["archived"] else ""),
                "tags": list(opp["tags"]), "notes": len(state.notes[opp["id"]]),
            })
        return rows


def _stages() -> list[dict]:
    state = get_sandbox().state
    with state.lock:
        return [dict(s) for s in state.stages.values()]


def _back(default: str):
    target = request.form.get("next") or ""
    if not target.startswith("/") or target.startswith("//"):
        target = default
    return redirect(target)


@bp.get("/")
@bp.get("/candidates")
def index():
    return render_template("lever_sandbox/index.html", rows=_candidate_rows(), stages=_stages())


@bp.get("/candidates/<opp_id>")
def candidate(opp_id: str):
    state = get_sandbox().state
    with state.lock:
        opp = state.opportunities.get(opp_id)
        if opp is None:
            abort(404)
        posting_id = state.posting_of(opp)
        history = [{**change, "stage": state.stages[change["toStageId"]]["text"]}
                   for change in opp["stageChanges"]]
        context = {
            "opp": dict(opp), "history": history,
            "posting": state.postings[posting_id]["text"] if posting_id else "",
            "stage": state.stages[opp["stage"]]["text"],
            "archived_reason": (state.archive_reasons[opp["archived"]["reason"]]["text"]
                                if opp["archived"] else None),
            "notes": [note_obj(n) for n in state.notes[opp_id]],
            "users": {u["id"]: u["name"] for u in state.users.values()},
            "reasons": list(state.archive_reasons.values()),
        }
    return render_template("lever_sandbox/candidate.html", stages=_stages(), **context)


@bp.post("/candidates/<opp_id>/move")
def move(opp_id: str):
    sandbox = get_sandbox()
    _, events = sandbox.state.move(opp_id, request.form.get("stage_id", ""))
    sandbox.sender.emit(events)
    return _back(url_for("lever_ui.index"))


@bp.post("/candidates/<opp_id>/archive")
def archive(opp_id: str):
    sandbox = get_sandbox()
    _, events = sandbox.state.set_archived(opp_id, request.form.get("reason_id") or None)
    sandbox.sender.emit(events)
    return _back(url_for("lever_ui.candidate", opp_id=opp_id))


@bp.post("/candidates/<opp_id>/hire")
def hire(opp_id: str):
    sandbox = get_sandbox()
    _, events = sandbox.state.hire(opp_id)
    sandbox.sender.emit(events)
    return _back(url_for("lever_ui.candidate", opp_id=opp_id))


def _webhooks_page(**extra):
    sandbox = get_sandbox()
    with sandbox.state.lock:
        hooks = [dict(h) for h in sandbox.state.webhooks.values()]
    deliveries = list(reversed(sandbox.sender.log()[-RECENT_DELIVERIES:]))
    return render_template("lever_sandbox/webhooks.html", hooks=hooks, deliveries=deliveries,
                           events=EVENTS, **extra)


@bp.get("/settings/webhooks")
def webhooks():
    return _webhooks_page()


@bp.post("/settings/webhooks")
def add_webhook():
    try:
        hook = create_manual_webhook(request.form.get("url"), request.form.get("event"))
    except LeverError as err:
        return _webhooks_page(error=err.message), 400
    return _webhooks_page(new_token={"id": hook["id"], "token": hook["signatureToken"]})


@bp.post("/settings/webhooks/<webhook_id>/verify")
def verify(webhook_id: str):
    return _webhooks_page(verified=verify_connection(webhook_id))


@bp.post("/settings/webhooks/<webhook_id>/toggle")
def toggle(webhook_id: str):
    state = get_sandbox().state
    state.set_webhook_active(webhook_id, not state.webhook(webhook_id)["active"])
    return redirect(url_for("lever_ui.webhooks"))


@bp.post("/settings/webhooks/<webhook_id>/regenerate")
def regenerate(webhook_id: str):
    hook = get_sandbox().state.regenerate_token(webhook_id)
    return _webhooks_page(new_token={"id": hook["id"], "token": hook["signatureToken"]})
