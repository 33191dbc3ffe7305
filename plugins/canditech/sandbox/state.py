"""In-memory, thread-safe store of the Canditech sandbox: assessments and invitations.

Contract:

* Every public method takes the store's lock, so concurrent requests (werkzeug threaded) see
  consistent state. Returned ``Invitation`` objects are snapshots (deep copies); mutate the
  store only through its methods.
* Transitions (``start``, ``complete``, ``set_verdict``, ``expire``, ``cancel``) return
  ``(snapshot, events)`` where ``events`` is the list of webhook event types (``wire.EVENT_*``)
  the change implies, in order, each paired with the snapshot the event must carry. The store
  never sends anything itself.
* Failures raise ``SandboxError(status, code, message, **extra)``; the API turns it into the
  ``{"error": {...}}`` envelope.
* ``to_wire(invitation)`` is the invitation exactly as ``GET /v1/invitations/<id>`` returns it.
"""

from __future__ import annotations

import base64
import copy
import math
import threading
import uuid
from collections import Counter
from dataclasses import dataclass

from . import wire
from .seed import seed_assessments


class SandboxError(Exception):
    """An error with an HTTP status and a wire error code.

    ``extra`` joins the ``error`` object (e.g. ``field``); ``body_extra`` joins the top level of
    the response body (e.g. the existing ``invitation`` of a 409).
    """

    def __init__(self, status: int, code: str, message: str, *,
                 body_extra: dict | None = None, **extra: object) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra
        self.body_extra = body_extra or {}

    def body(self) -> dict:
        """The response body: the error envelope plus ``body_extra``."""
        return {**wire.error_body(self.code, self.message, **self.extra), **self.body_extra}


@dataclass
class Invitation:
    """One invitation; ``base_url`` is the public URL its links are built on."""

    id: str
    assessment_id: str
    assessment_name: str
    candidate: dict
    external_reference: str
    callback_url: str | None
    base_url: str
    created_at: str
    status: str = wire.STATUS_INVITED
    started_at: str | None = None
    completed_at: str | None = None
    cancelled_at: str | None = None
    expired_at: str | None = None
    score: int | None = None
    max_score: int = 100
    answers: dict | None = None
    verdict: str | None = None
    verdict_at: str | None = None


def to_wire(inv: Invitation) -> dict:
    """The invitation as the API (and webhooks) show it."""
    body = {
        "id": inv.id,
        "status": inv.status,
        "assessment_id": inv.assessment_id,
        "assessment_name": inv.assessment_name,
        "external_reference": inv.external_reference,
        "candidate": dict(inv.candidate),
        "callback_url": inv.callback_url,
        "invite_url": inv.base_url + wire.TAKE_PATH.format(invitation_id=inv.id),
        "created_at": inv.created_at,
        "started_at": inv.started_at,
        "verdict": inv.verdict,
        "verdict_at": inv.verdict_at,
    }
    if inv.status == wire.STATUS_COMPLETED:
        body.update(
            score=inv.score,
            max_score=inv.max_score,
            report_url=inv.base_url + wire.REPORT_PATH.format(invitation_id=inv.id),
            completed_at=inv.completed_at,
        )
    if inv.cancelled_at:
        body["cancelled_at"] = inv.cancelled_at
    if inv.expired_at:
        body["expired_at"] = inv.expired_at
    return body


def score_answers(assessment: dict, answers: dict) -> int:
    """round(100 * correct / total), half rounded up; unknown question ids are ignored."""
    questions = assessment["questions"]
    correct = sum(1 for q in questions if answers.get(q["id"]) == q["correct"])
    return int(math.floor(100 * correct / len(questions) + 0.5))


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        offset = int(number)
        if prefix != "offset" or offset < 0:
            raise ValueError
        return offset
    except (ValueError, UnicodeDecodeError) as exc:
        raise SandboxError(422, wire.ERR_VALIDATION, "cursor: invalid cursor",
                           field="cursor") from exc


class Store:
    """Assessments, invitations, and per-reference counts of POSTs and of lookups that found an
    invitation, behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Back to the seed: seeded assessments, no invitations, zeroed counts."""
        with self._lock:
            self._assessments = {a["id"]: a for a in seed_assessments()}
            self._invitations: dict[str, Invitation] = {}
            self._by_reference: dict[str, list[str]] = {}  # ids, oldest first
            self._post_counts: Counter = Counter()
            self._found_counts: Counter = Counter()

    # --- assessments ---------------------------------------------------------------------
    def assessments(self) -> list[dict]:
        """All assessments with their questions and correct answers (deep copies)."""
        with self._lock:
            return copy.deepcopy(list(self._assessments.values()))

    def assessment(self, assessment_id: str) -> dict | None:
        with self._lock:
            found = self._assessments.get(assessment_id)
            return copy.deepcopy(found) if found else None

    def assessments_page(self, cursor: str | None, page_size: int) -> tuple[list[dict], str | None]:
        """One page of public assessment summaries and the next cursor (None at the end)."""
        offset = _decode_cursor(cursor) if cursor else 0
        with self._lock:
            items = list(self._assessments.values())
        page = [
            {k: a[k] for k in ("id", "name", "duration_minutes", "max_score")}
            for a in items[offset:offset + page_size]
        ]
        end = offset + page_size
        return page, (_encode_cursor(end) if end < len(items) else None)

    # --- invitations ---------------------------------------------------------------------
    def count_post(self, external_reference: str) -> None:
        """Record one POST /v1/invitations call naming this reference."""
        with self._lock:
            self._post_counts[external_reference] += 1

    def post_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._post_counts)

    def count_found(self, external_reference: str) -> None:
        """Record one lookup by this reference (``GET /v1/invitations?external_reference=``) that
        found an invitation: a client asking again about one it had created."""
        with self._lock:
            self._found_counts[external_reference] += 1

    def found_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._found_counts)

    def create(self, *, assessment_id: str, candidate: dict, external_reference: str,
               callback_url: str | None, base_url: str, dedupe: bool = True) -> Invitation:
        """New invitation; 409 ``duplicate_external_reference`` carrying the existing one. With
        ``dedupe=False`` (the ``no_reference_dedup`` fault) a known reference gets another one."""
        with self._lock:
            existing_ids = self._by_reference.get(external_reference, [])
            if existing_ids and dedupe:
                existing = self._invitations[existing_ids[0]]
                raise SandboxError(
                    409, wire.ERR_DUPLICATE_REFERENCE,
                    f"an invitation with external_reference {external_reference!r} already exists",
                    body_extra={"invitation": to_wire(existing)},
                )
            assessment = self._assessments.get(assessment_id)
            if assessment is None:
                raise SandboxError(422, wire.ERR_VALIDATION,
                                   f"assessment_id: unknown assessment {assessment_id!r}",
                                   field="assessment_id")
            inv = Invitation(
                id=f"inv_{uuid.uuid4().hex[:20]}",
                assessment_id=assessment_id,
                assessment_name=assessment["name"],
                candidate=dict(candidate),
                external_reference=external_reference,
                callback_url=callback_url,
                base_url=base_url,
                created_at=wire.now_iso(),
                max_score=assessment["max_score"],
            )
            self._invitations[inv.id] = inv
            self._by_reference.setdefault(external_reference, []).append(inv.id)
            return copy.deepcopy(inv)

    def get(self, invitation_id: str) -> Invitation:
        with self._lock:
            return copy.deepcopy(self._get(invitation_id))

    def find_by_reference(self, external_reference: str) -> list[Invitation]:
        """Every invitation created with this reference (more than one only without dedupe)."""
        with self._lock:
            ids = self._by_reference.get(external_reference, [])
            return [copy.deepcopy(self._invitations[inv_id]) for inv_id in ids]

    def all(self) -> list[Invitation]:
        """Every invitation, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._invitations.values()))

    def _get(self, invitation_id: str) -> Invitation:
        inv = self._invitations.get(invitation_id)
        if inv is None:
            raise SandboxError(404, wire.ERR_NOT_FOUND, f"invitation {invitation_id!r} not found")
        return inv

    @staticmethod
    def _require(inv: Invitation, allowed: tuple[str, ...], action: str, status: int = 409) -> None:
        if inv.status not in allowed:
            raise SandboxError(status, wire.ERR_INVALID_STATE,
                               f"cannot {action} an invitation that is {inv.status}",
                               current_status=inv.status)

    # --- transitions ---------------------------------------------------------------------
    def start(self, invitation_id: str) -> tuple[Invitation, list[tuple[str, Invitation]]]:
        """invited -> started (fires ``invitation.started``); started is a no-op."""
        with self._lock:
            inv = self._get(invitation_id)
            self._require(inv, wire.OPEN_STATUSES, "start")
            events = self._start_locked(inv)
            return copy.deepcopy(inv), events

    def _start_locked(self, inv: Invitation) -> list[tuple[str, Invitation]]:
        if inv.status != wire.STATUS_INVITED:
            return []
        inv.status, inv.started_at = wire.STATUS_STARTED, wire.now_iso()
        return [(wire.EVENT_STARTED, copy.deepcopy(inv))]

    def complete(self, invitation_id: str, *, answers: dict | None = None,
                 score: int | None = None) -> tuple[Invitation, list[tuple[str, Invitation]]]:
        """Submit: score from ``answers`` (or the given ``score``); an invitation never opened
        is started first, so ``invitation.started`` precedes ``invitation.completed``."""
        with self._lock:
            inv = self._get(invitation_id)
            self._require(inv, wire.OPEN_STATUSES, "complete")
            assessment = self._assessments[inv.assessment_id]
            events = self._start_locked(inv)
            if answers is not None:
                inv.answers = dict(answers)
                inv.score = score_answers(assessment, inv.answers)
            else:
                inv.answers, inv.score = None, int(score if score is not None else 0)
            inv.status, inv.completed_at = wire.STATUS_COMPLETED, wire.now_iso()
            events.append((wire.EVENT_COMPLETED, copy.deepcopy(inv)))
            return copy.deepcopy(inv), events

    def set_verdict(self, invitation_id: str,
                    verdict: str) -> tuple[Invitation, list[tuple[str, Invitation]]]:
        """Set the reviewer's verdict on a completed invitation; fires only when it changes."""
        with self._lock:
            inv = self._get(invitation_id)
            self._require(inv, (wire.STATUS_COMPLETED,), "set a verdict on")
            if inv.verdict == verdict:
                return copy.deepcopy(inv), []
            inv.verdict, inv.verdict_at = verdict, wire.now_iso()
            return copy.deepcopy(inv), [(wire.EVENT_VERDICT, copy.deepcopy(inv))]

    def expire(self, invitation_id: str) -> tuple[Invitation, list[tuple[str, Invitation]]]:
        """invited/started -> expired (fires ``invitation.expired``)."""
        with self._lock:
            inv = self._get(invitation_id)
            self._require(inv, wire.OPEN_STATUSES, "expire")
            inv.status, inv.expired_at = wire.STATUS_EXPIRED, wire.now_iso()
            return copy.deepcopy(inv), [(wire.EVENT_EXPIRED, copy.deepcopy(inv))]

    def cancel(self, invitation_id: str,
               finished_status: int = 409) -> tuple[Invitation, list[tuple[str, Invitation]]]:
        """invited/started -> cancelled; cancelling again is a no-op; no webhook exists. A
        finished (completed, expired) one is refused ``finished_status`` ``invalid_state``."""
        with self._lock:
            inv = self._get(invitation_id)
            if inv.status != wire.STATUS_CANCELLED:
                self._require(inv, wire.OPEN_STATUSES, "cancel", finished_status)
                inv.status, inv.cancelled_at = wire.STATUS_CANCELLED, wire.now_iso()
            return copy.deepcopy(inv), []
