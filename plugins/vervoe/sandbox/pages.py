"""The sandbox's HTML pages: the candidate's assessment and the employer's candidate card.

* ``GET /login?token=...`` (the ``candidateUrl``): start, answer the questions, submit. Submitting
  grades the answers (score = round(100 x correct / questions), ``TYPE_AI``) unless ``AUTO_GRADE``
  is off, and sends the report webhook(s) (started, then complete).
* ``GET /integration_candidate_card/<uuid>?token=...`` (the ``integrationCandidateCardUrl``): the
  report, and the reviewer's actions: hire, reject, un-hire, un-reject, and a manual score.
* ``GET /``: every candidate assessment with its two links (for demos).
"""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, redirect, render_template_string, request, url_for

from .runtime import runtime
from .state import COMPLETE, EXPIRED, HIRED, IN_PROGRESS, INVITED, REJECTED, SandboxError

bp = Blueprint("vervoe_sandbox_pages", __name__)

LAYOUT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }} · Vervoe sandbox</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d2433}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.6rem;background:#e8ecf5}fieldset{margin:1rem 0}
button{padding:.4rem 1rem;margin:.2rem}table{border-collapse:collapse;width:100%}td,th{padding:.3rem;
border-bottom:1px solid #ddd;text-align:left}</style></head><body><p><strong>Vervoe</strong> sandbox</p>
<h1>{{ title }}</h1>{{ body|safe }}</body></html>"""

CANDIDATE = """
{% if ua.status == INVITED %}
  <p>Hello {{ ua.first_name }}, you are invited to <strong>{{ assessment.name }}</strong>
  ({{ assessment.questions|length }} questions).</p>
  <form method="post" action="{{ url_for('vervoe_sandbox_pages.start') }}">
    <input type="hidden" name="token" value="{{ ua.login_token }}"><button type="submit">Start assessment</button>
  </form>
{% elif ua.status == IN_PROGRESS %}
  <form method="post" action="{{ url_for('vervoe_sandbox_pages.submit') }}">
    <input type="hidden" name="token" value="{{ ua.login_token }}">
    {% for q in assessment.questions %}<fieldset><legend>{{ loop.index }}. {{ q.text }}</legend>
      {% for key, label in q.options.items() %}<label><input type="radio" name="{{ q.id }}" value="{{ key }}">
      {{ label }}</label><br>{% endfor %}</fieldset>{% endfor %}
    <button type="submit">Submit answers</button>
  </form>
{% elif ua.status == EXPIRED %}
  <p>This assessment has expired.</p>
{% else %}
  <p>Thank you, {{ ua.first_name }}: your answers were submitted.</p>
  {% if ua.redirect_url %}<p><a href="{{ ua.redirect_url }}">Continue</a></p>{% endif %}
{% endif %}
"""

CARD = """
<p>{{ ua.first_name }} {{ ua.last_name }} &lt;{{ ua.email }}&gt; · {{ assessment.name }}</p>
<p>Status: <span class="badge" id="status">{{ ua.status }}</span>
 · Score: <strong id="score">{{ '%d%%' % ua.score if ua.score is not none else 'not graded' }}</strong>
 {% if ua.score_type %}({{ ua.score_type }}){% endif %}</p>
<table><tr><th>Question</th><th>Answer</th><th>Correct</th></tr>
{% for q in assessment.questions %}<tr><td>{{ q.text }}</td><td>{{ q.options.get(ua.answers.get(q.id), '-') }}</td>
<td>{{ q.options[q.answer] }}</td></tr>{% endfor %}</table>
{% for action, label in actions %}
<form method="post" style="display:inline" action="{{ url_for('vervoe_sandbox_pages.card_action', uuid=ua.uuid,
 action=action, token=ua.card_token) }}"><button type="submit" name="action" value="{{ action }}">{{ label }}</button></form>
{% endfor %}
{% if ua.completed_at %}
<form method="post" action="{{ url_for('vervoe_sandbox_pages.card_action', uuid=ua.uuid, action='grade',
 token=ua.card_token) }}"><label>Manual score (0-100) <input name="score" type="number" min="0" max="100"></label>
<button type="submit">Grade</button></form>{% endif %}
"""

INDEX = """<table><tr><th>Candidate</th><th>Assessment</th><th>Status</th><th>Score</th><th></th></tr>
{% for ua in items %}<tr><td>{{ ua.email }}</td><td>{{ ua.slug }}</td><td>{{ ua.status }}</td>
<td>{{ ua.score if ua.score is not none else '' }}</td><td><a href="{{ ua.candidate_url }}">candidate page</a> ·
<a href="{{ ua.card_url }}">card</a></td></tr>{% else %}<tr><td colspan="5">No candidate invited yet.</td></tr>
{% endfor %}</table>"""


def page(title: str, template: str, status: int = 200, **context):
    body = render_template_string(template, INVITED=INVITED, IN_PROGRESS=IN_PROGRESS, EXPIRED=EXPIRED, **context)
    return render_template_string(LAYOUT, title=title, body=body), status


def message(title: str, text: str, status: int):
    return page(title, "<p>{{ text }}</p>", status, text=text)


@bp.get("/")
def index():
    return page("Candidate assessments", INDEX, items=runtime().store.all())


@bp.get("/login")
def login():
    ua = runtime().store.by_login_token(request.args.get("token", ""))
    assessment = runtime().store.assessment(ua.slug)
    return page(assessment["name"], CANDIDATE, ua=ua, assessment=assessment)


@bp.post("/login/start")
def start():
    rt = runtime()
    ua = rt.store.by_login_token(request.form.get("token", ""))
    rt.start(ua.uuid)
    return redirect(url_for("vervoe_sandbox_pages.login", token=ua.login_token), code=303)


@bp.post("/login/submit")
def submit():
    rt = runtime()
    ua = rt.store.by_login_token(request.form.get("token", ""))
    questions = rt.store.assessment(ua.slug)["questions"]
    answers = {q["id"]: request.form[q["id"]] for q in questions if request.form.get(q["id"])}
    rt.complete(ua.uuid, answers=answers)
    return redirect(url_for("vervoe_sandbox_pages.login", token=ua.login_token), code=303)


def _card_ua(uuid: str):
    ua = runtime().store.get(uuid)
    if not secrets.compare_digest(ua.card_token, request.args.get("token", "")):
        abort(404)
    return ua


@bp.get("/integration_candidate_card/<uuid>")
def card(uuid: str):
    ua = _card_ua(uuid)
    actions = []
    if ua.status in (COMPLETE, REJECTED) and ua.completed_at is not None:
        actions.append(("hire", "Hire"))
    if ua.status not in (HIRED, REJECTED):
        actions.append(("reject", "Reject"))
    if ua.status == HIRED:
        actions.append(("unhire", "Un-hire"))
    if ua.status == REJECTED:
        actions.append(("unreject", "Un-reject"))
    return page("Candidate card", CARD, ua=ua, assessment=runtime().store.assessment(ua.slug), actions=actions)


@bp.post("/integration_candidate_card/<uuid>/<action>")
def card_action(uuid: str, action: str):
    ua = _card_ua(uuid)
    rt = runtime()
    if action == "grade":
        raw = request.form.get("score", "")
        if not (raw.isascii() and raw.isdigit()) or not 0 <= int(raw) <= 100:
            raise SandboxError(400, "score: an integer from 0 to 100")
        rt.grade(uuid, int(raw))
    elif action in ("hire", "unhire", "reject", "unreject"):
        getattr(rt, action)(uuid)
    else:
        abort(404)
    return redirect(url_for("vervoe_sandbox_pages.card", uuid=uuid, token=ua.card_token), code=303)
