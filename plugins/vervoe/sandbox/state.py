"""The Vervoe sandbox's in-memory state: seeded assessments, candidate assessments, API tokens.

Contract:

* Thread-safe (one lock). Every transition returns ``(snapshot, events)`` where ``events`` are
  snapshots whose report must be sent by webhook, in order; the runtime sends them.
* Statuses as Vervoe writes them: ``invited``, ``in progress``, ``complete``, ``expired``,
  ``hired``, ``rejected``. The score is a percentage: round(100 x correct answers / questions)
  (``TYPE_AI``, graded on submission) or given by a reviewer (``TYPE_MANUAL``).
* Transitions: start (invited -> in progress), complete (invited|in progress -> complete; an
  unopened one is started first), grade (a completed one gets/changes its score), hire
  (complete|rejected after completing -> hired), unhire (hired -> complete), reject (anything but
  hired; twice is a no-op without a webhook), unreject (rejected -> the status before), expire
  (invited|in progress -> expired), reset (any -> invited, answers and score cleared, deadline
  extended; no webhook, as at Vervoe). An impossible one is ``SandboxError(409)``.
"""

from __future__ import annotations

import copy
import re
import secrets
import threading
import uuid as uuidlib
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

INVITED = "invited"
IN_PROGRESS = "in progress"
COMPLETE = "complete"
EXPIRED = "expired"
HIRED = "hired"
REJECTED = "rejected"

TYPE_AI = "TYPE_AI"
TYPE_MANUAL = "TYPE_MANUAL"
DEADLINE = timedelta(days=7)
ALREADY_SENT = "The invitation has been already sent."
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

SEED = [
    {"slug": "backend-developer-test", "name": "Backend developer test",
     "description": "Testing backend developers: HTTP, SQL and Python.",
     "skills": ["problem solving", "python", "sql"], "folder": None,
     "questions": [
         {"id": "q1", "text": "Which HTTP status means the resource was created?",
          "options": {"a": "200", "b": "201", "c": "204"}, "answer": "b"},
         {"id": "q2", "text": "Which SQL clause filters groups?",
          "options": {"a": "WHERE", "b": "HAVING", "c": "ORDER BY"}, "answer": "b"},
         {"id": "q3", "text": "What does len({1, 1, 2}) return in Python?",
          "options": {"a": "3", "b": "1", "c": "2"}, "answer": "c"},
         {"id": "q4", "text": "Which is idempotent?",
          "options": {"a": "PUT", "b": "POST", "c": "neither"}, "answer": "a"},
     ]},
    {"slug": "customer-support-test", "name": "Customer support test",
     "description": "Written communication and empathy.",
     "skills": ["communication", "empathy"],
     "folder": {"uuid": "f83cd542-9a0b-4811-89b7-452c1a995cd1", "name": "Support", "auditionCount": "2"},
     "questions": [
         {"id": "q1", "text": "A customer is angry about a late refund. First you...",
          "options": {"a": "acknowledge the delay", "b": "quote the policy", "c": "escalate"}, "answer": "a"},
         {"id": "q2", "text": "The best first reply time is...",
          "options": {"a": "within a day", "b": "within an hour", "c": "within a week"}, "answer": "b"},
         {"id": "q3", "text": "You do not know the answer. You...",
          "options": {"a": "guess", "b": "say you will find out and follow up", "c": "close the ticket"},
          "answer": "b"},
     ]},
    {"slug": "sales-skills-test", "name": "Sales skills test",
     "description": "Discovery and negotiation.",
     "skills": ["negotiation"],
     "folder": {"uuid": "f83cd542-9a0b-4811-89b7-452c1a995cd1", "name": "Support", "auditionCount": "2"},
     "questions": [
         {"id": "q1", "text": "Discovery calls are for...",
          "options": {"a": "pitching", "b": "listening", "c": "pricing"}, "answer": "b"},
         {"id": "q2", "text": "A prospect says it is too expensive. You...",
          "options": {"a": "ask what they compare it with", "b": "discount at once", "c": "end the call"},
          "answer": "a"},
     ]},
]


class SandboxError(Exception):
    """An answer other than 200: ``status``, Vervoe's error text, and optional ``data``."""

    def __init__(self, status: int, message: str, data: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.data = data


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def duration_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} minutes {rest} seconds"


@dataclass
class UserAssessment:
    uuid: str
    slug: str
    email: str
    first_name: str
    last_name: str
    base_url: str
    status: str = INVITED
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    deadline: datetime = field(default_factory=lambda: now() + DEADLINE)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    score: int | None = None
    score_type: str | None = None
    answers: dict = field(default_factory=dict)
    status_before_decision: str | None = None
    send_email: bool = True
    redirect_url: str | None = None
    login_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    card_token: str = field(default_factory=lambda: secrets.token_hex(20))
    resets: int = 0

    @property
    def candidate_url(self) -> str:
        return f"{self.base_url}/login?token={self.login_token}&hashCode={self.uuid}"

    @property
    def card_url(self) -> str:
        return f"{self.base_url}/integration_candidate_card/{self.uuid}?token={self.card_token}"


def score_json(ua: UserAssessment) -> dict | None:
    if ua.score is None:
        return None
    return {"type": ua.score_type or TYPE_AI, "score": ua.score, "scoreByFormat": ua.score}


def _times(ua: UserAssessment) -> tuple[str | None, str | None]:
    if ua.started_at is None or ua.completed_at is None:
        return None, None
    taken = duration_text((ua.completed_at - ua.started_at).total_seconds())
    return taken, taken


def report_json(ua: UserAssessment, *, list_item: bool = False) -> dict:
    """The Candidate Report Object (GET /integration/user-assessments[/{uuid}], reject, reset)."""
    time_taken, submit_time = _times(ua)
    status = "in_progress" if list_item and ua.status == IN_PROGRESS else ua.status
    return {
        "candidateAssessmentUuid": ua.uuid,
        "status": status,
        "startedAt": iso(ua.started_at),
        "completedAt": iso(ua.completed_at),
        "score": score_json(ua),
        "integrationCandidateCardUrl": ua.card_url,
        "timeTaken": time_taken,
        "submitTime": submit_time,
        "tags": [],
        "smsSent": False,
        "candidateEmail": ua.email,
        "assessmentSlug": ua.slug,
        "anticheatingGeolocationDetected": False,
        "plagiarismDetected": False,
    }


def webhook_json(ua: UserAssessment) -> dict:
    """The report webhook's body, as guide 03 shows it."""
    time_taken, submit_time = _times(ua)
    return {
        "candidateAssessmentUuid": ua.uuid,
        "status": ua.status,
        "completedAt": iso(ua.completed_at),
        "startedAt": iso(ua.started_at),
        "score": score_json(ua),
        "integrationCandidateCardUrl": ua.card_url,
        "timeTaken": time_taken,
        "submitTime": submit_time,
    }


class Store:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.assessments: OrderedDict[str, dict] = OrderedDict((a["slug"], copy.deepcopy(a)) for a in SEED)
            self.items: OrderedDict[str, UserAssessment] = OrderedDict()
            self.invite_posts: Counter = Counter()
            self.tokens: dict[str, float] = {}
            self.tokens_issued = 0

    # --- tokens -----------------------------------------------------------------------
    def issue_token(self, ttl: float) -> str:
        with self._lock:
            token = secrets.token_urlsafe(48)
            self.tokens[token] = now().timestamp() + ttl
            self.tokens_issued += 1
            return token

    def token_valid(self, token: str) -> bool:
        with self._lock:
            expires = self.tokens.get(token)
            return expires is not None and expires > datetime.now(timezone.utc).timestamp()

    def expire_tokens(self) -> int:
        with self._lock:
            count = len(self.tokens)
            self.tokens.clear()
            return count

    # --- reads ------------------------------------------------------------------------
    def get(self, uuid: str) -> UserAssessment:
        with self._lock:
            ua = self.items.get(uuid)
            if ua is None:
                raise SandboxError(404, "Candidate assessment not found.")
            return copy.deepcopy(ua)

    def by_login_token(self, token: str) -> UserAssessment:
        with self._lock:
            for ua in self.items.values():
                if secrets.compare_digest(ua.login_token, token or ""):
                    return copy.deepcopy(ua)
        raise SandboxError(404, "This link is not valid.")

    def all(self) -> list[UserAssessment]:
        with self._lock:
            return [copy.deepcopy(ua) for ua in self.items.values()]

    def assessment(self, slug: str) -> dict:
        with self._lock:
            found = self.assessments.get(slug)
            if found is None:
                raise SandboxError(404, "Assessment not found.")
            return copy.deepcopy(found)

    def assessment_list(self) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(a) for a in self.assessments.values()]

    # --- invite -----------------------------------------------------------------------
    def invite(self, slug: str, body: dict, base_url: str) -> UserAssessment:
        """POST /integration/assessments/{slug}/invite; raises SandboxError(400/404) as Vervoe does."""
        with self._lock:
            if slug not in self.assessments:
                raise SandboxError(404, "Assessment not found.")
            email = body.get("candidateEmail")
            first = body.get("candidateFirstName")
            if not isinstance(email, str) or not email.strip():
                raise SandboxError(400, "candidateEmail: This value should not be blank.")
            if not _EMAIL.match(email.strip()):
                raise SandboxError(400, "candidateEmail: This value is not a valid email address.")
            if not isinstance(first, str) or not first.strip():
                raise SandboxError(400, "candidateFirstName: This value should not be blank.")
            last = body.get("candidateLastName")
            if last is not None and not isinstance(last, str):
                raise SandboxError(400, "candidateLastName: This value should be of type string.")
            for name in ("sendInvitationEmail", "reapply", "enableFeedback", "sendInvitationSms", "eeocEnabled"):
                if name in body and not isinstance(body[name], bool):
                    raise SandboxError(400, f"{name}: This value should be of type bool.")
            if body.get("sendInvitationSms"):
                raise SandboxError(400, "The current plan does not allow sending invitation SMS.")
            email = email.strip()
            self.invite_posts[(email.lower(), slug)] += 1
            wanted = body.get("candidateAssessmentUuid")
            if isinstance(wanted, str) and wanted in self.items and self.items[wanted].slug == slug \
                    and not body.get("reapply"):
                return copy.deepcopy(self.items[wanted])  # "obtain invitation url for already invited candidate"
            existing = next((ua for ua in self.items.values()
                             if ua.slug == slug and ua.email.lower() == email.lower()), None)
            if existing is not None and not body.get("reapply"):
                raise SandboxError(400, ALREADY_SENT, {"candidateAssessmentUuid": existing.uuid,
                                                       "candidateUrl": existing.candidate_url})
            ua = UserAssessment(uuid=str(uuidlib.uuid4()), slug=slug, email=email, first_name=first.strip(),
                                last_name=(last or "").strip(), base_url=base_url,
                                send_email=body.get("sendInvitationEmail", True) is not False,
                                redirect_url=body.get("redirectCandidateUrl") or None)
            self.items[ua.uuid] = ua
            return copy.deepcopy(ua)

    # --- transitions ------------------------------------------------------------------
    def _change(self, uuid: str) -> UserAssessment:
        ua = self.items.get(uuid)
        if ua is None:
            raise SandboxError(404, "Candidate assessment not found.")
        return ua

    def _done(self, ua: UserAssessment, fire: bool = True) -> tuple[UserAssessment, list[UserAssessment]]:
        ua.updated_at = now()
        snapshot = copy.deepcopy(ua)
        return snapshot, ([snapshot] if fire else [])

    def start(self, uuid: str):
        with self._lock:
            ua = self._change(uuid)
            if ua.status == IN_PROGRESS:
                return self._done(ua, fire=False)
            if ua.status != INVITED:
                raise SandboxError(409, f"Cannot start an assessment that is {ua.status}.")
            ua.status = IN_PROGRESS
            ua.started_at = now()
            return self._done(ua)

    def complete(self, uuid: str, *, answers: dict | None = None, score: int | None = None, auto_grade: bool = True):
        with self._lock:
            ua = self._change(uuid)
            events: list[UserAssessment] = []
            if ua.status == INVITED:
                events.extend(self.start(uuid)[1])
            if ua.status != IN_PROGRESS:
                raise SandboxError(409, f"Cannot complete an assessment that is {ua.status}.")
            assessment = self.assessments[ua.slug]
            ua.answers = dict(answers or {})
            ua.status = COMPLETE
            ua.completed_at = now()
            if score is not None:
                ua.score, ua.score_type = int(score), TYPE_MANUAL
            elif auto_grade:
                questions = assessment["questions"]
                correct = sum(1 for q in questions if ua.answers.get(q["id"]) == q["answer"])
                ua.score, ua.score_type = round(100 * correct / len(questions)), TYPE_AI
            snapshot, fired = self._done(ua)
            return snapshot, events + fired

    def grade(self, uuid: str, score: int):
        with self._lock:
            ua = self._change(uuid)
            if ua.completed_at is None:
                raise SandboxError(409, "Only a completed assessment can be graded.")
            if ua.score == score and ua.score_type == TYPE_MANUAL:
                return self._done(ua, fire=False)
            ua.score, ua.score_type = int(score), TYPE_MANUAL
            return self._done(ua)

    def hire(self, uuid: str):
        with self._lock:
            ua = self._change(uuid)
            if ua.status == HIRED:
                return self._done(ua, fire=False)
            if ua.completed_at is None or ua.status not in (COMPLETE, REJECTED):
                raise SandboxError(409, f"Cannot hire a candidate whose assessment is {ua.status}.")
            ua.status_before_decision = COMPLETE
            ua.status = HIRED
            return self._done(ua)

    def unhire(self, uuid: str):
        with self._lock:
            ua = self._change(uuid)
            if ua.status != HIRED:
                raise SandboxError(409, "The candidate is not hired.")
            ua.status = ua.status_before_decision or COMPLETE
            return self._done(ua)

    def reject(self, uuid: str):
        with self._lock:
            ua = self._change(uuid)
            if ua.status == REJECTED:
                return self._done(ua, fire=False)  # "rejecting already rejected candidate" is not an error
            if ua.status == HIRED:
                raise SandboxError(400, "Cannot reject a hired candidate.")
            ua.status_before_decision = ua.status
            ua.status = REJECTED
            return self._done(ua)

    def unreject(self, uuid: str):
        with self._lock:
            ua = self._change(uuid)
            if ua.status != REJECTED:
                raise SandboxError(409, "The candidate is not rejected.")
            ua.status = ua.status_before_decision or (COMPLETE if ua.completed_at else INVITED)
            return self._done(ua)

    def expire(self, uuid: str):
        with self._lock:
            ua = self._change(uuid)
            if ua.status == EXPIRED:
                return self._done(ua, fire=False)
            if ua.status not in (INVITED, IN_PROGRESS):
                raise SandboxError(409, f"Cannot expire an assessment that is {ua.status}.")
            ua.status = EXPIRED
            return self._done(ua)

    def reset_assessment(self, uuid: str):
        with self._lock:
            ua = self._change(uuid)
            ua.status = INVITED
            ua.started_at = ua.completed_at = None
            ua.score = ua.score_type = None
            ua.answers = {}
            ua.status_before_decision = None
            ua.deadline = now() + DEADLINE
            ua.resets += 1
            return self._done(ua, fire=False)
