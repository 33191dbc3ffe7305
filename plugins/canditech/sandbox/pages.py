"""HTML pages of the Canditech sandbox: candidate, report, reviewer and index.

Contract (stable element ids, for browser automation):

* ``GET /take/<id>``: the assessment (``#assessment-name``) and one radio group per question
  (``name="q<n>"``, inputs ``#q<n>-<option>``), submit button ``#submit-assessment``. The first
  opening marks the invitation ``started`` (fires ``invitation.started``). Completed, cancelled
  or expired invitations show ``#invitation-status-message`` instead (410 for cancelled/expired).
* ``POST /take/<id>``: scores the answers, completes the invitation (fires
  ``invitation.completed``) and shows ``#thank-you``.
* ``GET /reports/<id>``: candidate, ``#report-score`` and the answers; 404 until completed.
* ``GET /review``: completed invitations in ``#review-list`` (links ``#review-<id>``).
* ``GET /review/<id>``: result, ``#current-verdict``, buttons ``#thumbs-up`` / ``#thumbs-down``;
  ``POST`` (form field ``verdict``) sets the verdict (fires ``invitation.verdict`` on a change)
  and redirects back.
* ``GET /``: index of invitations (``#invitations``) linking to the review page.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template_string, request, url_for
from markupsafe import Markup

from . import wire
from .runtime import runtime
from .state import Invitation, SandboxError

bp = Blueprint("canditech_sandbox_pages", __name__)

LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · Canditech sandbox</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;
background:#f5f6fa;color:#1d2330}
header{background:#3b2f8f;color:#fff;padding:.8rem 1.5rem}
header a{color:#fff;text-decoration:none;margin-right:1rem;font-weight:600}
main{max-width:52rem;margin:1.5rem auto;padding:1.5rem;background:#fff;border-radius:8px;
box-shadow:0 1px 3px rgba(0,0,0,.12)}
fieldset{border:1px solid #d5d8e3;border-radius:6px;margin:0 0 1rem;padding:.8rem 1rem}
legend{font-weight:600;padding:0 .3rem}
label{display:block;padding:.25rem 0;cursor:pointer}
button{font-size:1rem;padding:.55rem 1.2rem;border:0;border-radius:6px;cursor:pointer;
background:#3b2f8f;color:#fff;margin-right:.5rem}
button.down{background:#a8323a}
button[aria-pressed=true]{outline:3px solid #f2b134}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #e3e5ee}
.muted{color:#5d6475}.ok{color:#1c7c3c}.bad{color:#a8323a}
.notice{padding:.8rem 1rem;border-radius:6px;background:#eef0fb}
</style></head>
<body><header><a href="{{ url_for('canditech_sandbox_pages.index') }}">Canditech sandbox</a>
<a href="{{ url_for('canditech_sandbox_pages.review_list') }}">Review</a></header>
<main><h1>{{ title }}</h1>{{ content }}</main></body></html>"""

TAKE = """<p class="muted">Candidate: {{ inv.candidate.first_name }} {{ inv.candidate.last_name }}
· about {{ a.duration_minutes }} minutes</p>
<p id="assessment-name"><strong>{{ a.name }}</strong></p>
<form method="post" id="assessment-form">
{% for q in a.questions %}
<fieldset id="{{ q.id }}"><legend>{{ loop.index }}. {{ q.text }}</legend>
{% for o in q.options %}
<label for="{{ q.id }}-{{ o.id }}"><input type="radio" id="{{ q.id }}-{{ o.id }}"
 name="{{ q.id }}" value="{{ o.id }}"> {{ o.text }}</label>
{% endfor %}</fieldset>
{% endfor %}
<button type="submit" id="submit-assessment">Submit</button>
</form>"""

MESSAGE = """<p id="invitation-status-message" class="notice">{{ message }}</p>"""

THANKS = """<p id="thank-you" class="notice">Thank you, {{ inv.candidate.first_name }}. Your
answers to <strong>{{ inv.assessment_name }}</strong> were submitted.</p>"""

RESULT = """<table id="result">
<tr><th scope="row">Candidate</th><td id="candidate-name">{{ inv.candidate.first_name }}
 {{ inv.candidate.last_name }} &lt;{{ inv.candidate.email }}&gt;</td></tr>
<tr><th scope="row">Assessment</th><td>{{ inv.assessment_name }}</td></tr>
<tr><th scope="row">Score</th><td id="report-score">{{ inv.score }} / {{ inv.max_score }}</td></tr>
<tr><th scope="row">Completed</th><td>{{ inv.completed_at }}</td></tr>
<tr><th scope="row">Verdict</th><td id="current-verdict">{{ verdict_label }}</td></tr>
<tr><th scope="row">Reference</th><td>{{ inv.external_reference }}</td></tr>
</table>
<h2>Answers</h2>
{% if rows %}<table id="answers"><tr><th>Question</th><th>Answer</th><th>Correct answer</th></tr>
{% for r in rows %}<tr id="answer-{{ r.id }}"><td>{{ r.text }}</td>
<td class="{{ 'ok' if r.right else 'bad' }}">{{ r.given }} {{ '✓' if r.right else '✗' }}</td>
<td>{{ r.correct }}</td></tr>{% endfor %}</table>
{% else %}<p class="muted">The score was set without answers.</p>{% endif %}"""

REVIEW = """{{ result }}
<form method="post" id="verdict-form"><h2>Your verdict</h2>
<button type="submit" name="verdict" value="thumbs_up" id="thumbs-up"
 aria-pressed="{{ 'true' if inv.verdict == 'thumbs_up' else 'false' }}">👍 Thumbs up</button>
<button type="submit" name="verdict" value="thumbs_down" id="thumbs-down" class="down"
 aria-pressed="{{ 'true' if inv.verdict == 'thumbs_down' else 'false' }}">👎 Thumbs down</button>
</form>
<p><a href="{{ report_url }}" id="report-link">Open the report</a></p>"""

REVIEW_LIST = """{% if invs %}<table id="review-list"><tr><th>Candidate</th><th>Assessment</th>
<th>Score</th><th>Verdict</th><th></th></tr>
{% for i in invs %}<tr><td>{{ i.candidate.first_name }} {{ i.candidate.last_name }}</td>
<td>{{ i.assessment_name }}</td><td>{{ i.score }}</td><td>{{ i.verdict or '—' }}</td>
<td><a id="review-{{ i.id }}"
 href="{{ url_for('.review', invitation_id=i.id) }}">Review</a></td>
</tr>{% endfor %}</table>
{% else %}<p id="review-list" class="muted">No completed assessments yet.</p>{% endif %}"""

INDEX = """<p><a href="{{ url_for('.review_list') }}" id="review-link">Review
completed assessments</a></p>
<h2>Invitations</h2>
{% if invs %}<table id="invitations"><tr><th>Candidate</th><th>Assessment</th><th>Status</th>
<th>Score</th><th>Verdict</th><th>Links</th></tr>
{% for i in invs %}<tr id="invitation-{{ i.id }}"><td>{{ i.candidate.first_name }}
 {{ i.candidate.last_name }}</td><td>{{ i.assessment_name }}</td><td>{{ i.status }}</td>
<td>{{ i.score if i.score is not none else '' }}</td><td>{{ i.verdict or '' }}</td><td>
<a href="{{ url_for('.take', invitation_id=i.id) }}">take</a>
{% if i.status == 'completed' %}· <a href="{{ url_for('.report', invitation_id=i.id) }}">report</a>
· <a href="{{ url_for('.review', invitation_id=i.id) }}">review</a>{% endif %}
</td></tr>{% endfor %}</table>
{% else %}<p id="invitations" class="muted">No invitations yet.</p>{% endif %}"""

VERDICT_LABELS = {None: "none yet", wire.VERDICT_UP: "👍 Thumbs up",
                  wire.VERDICT_DOWN: "👎 Thumbs down"}


def page(title: str, template: str, status: int = 200, **context) -> tuple[str, int]:
    """``template`` rendered with ``context`` inside the layout (autoescaped)."""
    content = Markup(render_template_string(template, **context))
    return render_template_string(LAYOUT, title=title, content=content), status


def message(title: str, text: str, status: int = 200) -> tuple[str, int]:
    return page(title, MESSAGE, status, message=text)


def _find(invitation_id: str) -> Invitation | None:
    try:
        return runtime().store.get(invitation_id)
    except SandboxError:
        return None


def _closed_message(inv: Invitation) -> tuple[str, int] | None:
    if inv.status == wire.STATUS_COMPLETED:
        return message("Already submitted", "This assessment was already submitted. Thank you!")
    if inv.status == wire.STATUS_CANCELLED:
        return message("Invitation cancelled", "This invitation was cancelled.", 410)
    if inv.status == wire.STATUS_EXPIRED:
        return message("Invitation expired", "This invitation has expired.", 410)
    return None


def _result(inv: Invitation) -> Markup:
    assessment = runtime().store.assessment(inv.assessment_id)
    rows = []
    if inv.answers is not None:
        for q in assessment["questions"]:
            texts = {o["id"]: o["text"] for o in q["options"]}
            given = inv.answers.get(q["id"])
            rows.append({"id": q["id"], "text": q["text"], "right": given == q["correct"],
                         "given": texts.get(given, "(no answer)"), "correct": texts[q["correct"]]})
    return Markup(render_template_string(RESULT, inv=inv, rows=rows,
                                         verdict_label=VERDICT_LABELS[inv.verdict]))


@bp.get("/")
def index():
    return page("Invitations", INDEX, invs=runtime().store.all())


@bp.route("/take/<invitation_id>", methods=["GET", "POST"])
def take(invitation_id: str):
    rt = runtime()
    inv = _find(invitation_id)
    if inv is None:
        return message("Not found", "This invitation does not exist.", 404)
    closed = _closed_message(inv)
    if closed:
        return closed
    try:
        if request.method == "POST":
            questions = rt.store.assessment(inv.assessment_id)["questions"]
            answers = {q["id"]: request.form[q["id"]] for q in questions if q["id"] in request.form}
            inv = rt.complete(invitation_id, answers=answers)
            return page("Submitted", THANKS, inv=inv)
        inv = rt.start(invitation_id)
    except SandboxError:  # changed state meanwhile (e.g. cancelled)
        return _closed_message(rt.store.get(invitation_id)) or message("Error", "Try again.", 409)
    return page(inv.assessment_name, TAKE, inv=inv, a=rt.store.assessment(inv.assessment_id))


@bp.get("/reports/<invitation_id>")
def report(invitation_id: str):
    inv = _find(invitation_id)
    if inv is None or inv.status != wire.STATUS_COMPLETED:
        return message("Report not available", "There is no report for this invitation.", 404)
    return page(f"Report: {inv.candidate['first_name']} {inv.candidate['last_name']}",
                "{{ result }}", result=_result(inv))


@bp.get("/review")
def review_list():
    invs = [i for i in runtime().store.all() if i.status == wire.STATUS_COMPLETED]
    return page("Review", REVIEW_LIST, invs=invs)


@bp.route("/review/<invitation_id>", methods=["GET", "POST"])
def review(invitation_id: str):
    inv = _find(invitation_id)
    if inv is None or inv.status != wire.STATUS_COMPLETED:
        return message("Nothing to review", "This invitation has no completed result.", 404)
    if request.method == "POST":
        verdict = request.form.get("verdict", "")
        if verdict not in wire.VERDICTS:
            return message("Invalid verdict", "Choose thumbs up or thumbs down.", 400)
        runtime().set_verdict(invitation_id, verdict)
        return redirect(url_for(".review", invitation_id=invitation_id), code=303)
    return page(f"Review: {inv.candidate['first_name']} {inv.candidate['last_name']}", REVIEW,
                inv=inv, result=_result(inv),
                report_url=url_for(".report", invitation_id=invitation_id))
