"""In-memory store of the Lever sandbox.

Contract:
- One ``SandboxState`` per sandbox app; every method takes ``self.lock`` (an ``RLock``), so the
  store is safe under werkzeug's threaded server. Callers that read several records and need a
  consistent view (rendering an opportunity with expansions) hold ``state.lock`` themselves.
- Lookups raise ``LeverError`` 404 (``"<collection> <id> was not found"``); deleted
  opportunities are not found.
- Mutations that Lever would announce return ``Event`` objects (name + webhook ``data`` +
  candidate origin); the caller hands them to the webhook sender *after* the call, so no
  network I/O ever happens under the lock. Event data follows lever.md §1.3: ids only, and
  ``candidateId`` equals ``opportunityId`` (the sender's ``webhook_distinct_candidate_id`` fault
  replaces it by ``legacy_candidate_id``). An event with ``only_with`` set is sent only while
  that fault knob is on (a behaviour Lever may or may not have).
- Records are Lever-shaped dicts; the serializers in ``render.py`` turn them into API objects.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field

from .errors import bad_request, not_found
from .seed import seed_records

EVENTS = (
    "applicationCreated", "candidateHired", "candidateStageChange", "candidateArchiveChange",
    "candidateDeleted", "interviewCreated", "interviewUpdated", "interviewDeleted",
    "contactCreated", "contactUpdated",
)
# Events whose webhooks may carry ``configuration.conditions.origins`` (lever.md §1.7).
CONFIGURABLE_EVENTS = frozenset(
    {"applicationCreated", "candidateHired", "candidateStageChange", "candidateArchiveChange"})
ORIGINS = ("applied", "sourced", "referred", "university", "agency", "internal")


def now_ms() -> int:
    """Current time in ms since the epoch (Lever's timestamp unit)."""
    return int(time.time() * 1000)


def legacy_candidate_id(opportunity_id: str) -> str:
    """A ``candidateId`` distinct from ``opportunity_id``, the same for every event of it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"lever-sandbox:candidate:{opportunity_id}"))


def new_signature_token() -> str:
    """A webhook signature token: 48 random hex characters."""
    return secrets.token_hex(24)


@dataclass(frozen=True)
class Event:
    """A webhook-worthy change: Lever event name, its ``data``, the candidate's origin, and the
    fault knob without which it is not sent (None: always sent)."""

    name: str
    data: dict
    origin: str | None = None
    only_with: str | None = None


@dataclass
class SandboxState:
    """Thread-safe store of stages, users, postings, candidates, notes and webhooks."""

    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.webhooks: dict[str, dict] = {}
        self.reseed()

    # ----------------------------------------------------------------- seeding
    def reseed(self, keep_webhooks: bool = False) -> None:
        """Replace every record by the seed; webhooks are dropped unless ``keep_webhooks``."""
        with self.lock:
            records = seed_records()
            self.stages: dict[str, dict] = records["stages"]
            self.users: dict[str, dict] = records["users"]
            self.postings: dict[str, dict] = records["postings"]
            self.archive_reasons: dict[str, dict] = records["archive_reasons"]
            self.contacts: dict[str, dict] = records["contacts"]
            self.applications: dict[str, dict] = records["applications"]
            self.opportunities: dict[str, dict] = records["opportunities"]
            self.deleted: dict[str, dict] = {}
            self.notes: dict[str, list[dict]] = {oid: [] for oid in self.opportunities}
            if not keep_webhooks:
                self.webhooks = {}

    # ----------------------------------------------------------------- lookups
    def _get(self, table: dict, collection: str, ident: str) -> dict:
        rec = table.get(ident)
        if rec is None:
            raise not_found(collection, ident)
        return rec

    def opportunity(self, opp_id: str) -> dict:
        """The live opportunity record (404 if unknown or deleted)."""
        with self.lock:
            return self._get(self.opportunities, "opportunities", opp_id)

    def stage(self, stage_id: str) -> dict:
        with self.lock:
            return self._get(self.stages, "stages", stage_id)

    def user(self, user_id: str) -> dict:
        with self.lock:
            return self._get(self.users, "users", user_id)

    def posting(self, posting_id: str) -> dict:
        with self.lock:
            return self._get(self.postings, "postings", posting_id)

    def archive_reason(self, reason_id: str) -> dict:
        with self.lock:
            return self._get(self.archive_reasons, "archive_reasons", reason_id)

    def contact(self, contact_id: str) -> dict:
        with self.lock:
            return self._get(self.contacts, "contacts", contact_id)

    def application(self, app_id: str) -> dict:
        with self.lock:
            return self._get(self.applications, "applications", app_id)

    def stage_index(self, stage_id: str) -> int:
        return list(self.stages).index(stage_id)

    def posting_of(self, opp: dict) -> str | None:
        """The posting id of an opportunity's (single) application, if any."""
        apps = opp.get("applications") or []
        return self.applications[apps[0]]["posting"] if apps else None

    def list_opportunities(self, *, posting_ids=(), stage_ids=(), emails=(), tags=(),
                           contact_ids=(), archived: bool | None = None) -> list[dict]:
        """Live opportunities matching every given filter (repeatable values are OR-ed)."""
        wanted_emails = {e.strip().lower() for e in emails}
        with self.lock:
            out = []
            for opp in self.opportunities.values():
                if posting_ids and self.posting_of(opp) not in posting_ids:
                    continue
                if stage_ids and opp["stage"] not in stage_ids:
                    continue
                if wanted_emails and not wanted_emails & {e.lower() for e in opp["emails"]}:
                    continue
                if tags and not set(tags) & set(opp["tags"]):
                    continue
                if contact_ids and opp["contact"] not in contact_ids:
                    continue
                if archived is not None and (opp["archived"] is not None) != archived:
                    continue
                out.append(opp)
            return sorted(out, key=lambda o: (o["createdAt"], o["id"]))

    # --------------------------------------------------------------- mutations
    @staticmethod
    def _ids(opp: dict) -> dict:
        return {"opportunityId": opp["id"], "candidateId": opp["id"], "contactId": opp["contact"]}

    def create_opportunity(self, *, name: str, email: str | None, posting_id: str,
                           stage_id: str, origin: str = "applied", phone: str | None = None,
                           tags: list[str] | None = None) -> tuple[dict, list[Event]]:
        """Create a candidate who applied to ``posting_id``; fires applicationCreated (and, with
        the ``webhook_stage_change_on_create`` knob, a candidateStageChange from no stage)."""
        with self.lock:
            self.posting(posting_id)
            self.stage(stage_id)
            if origin not in ORIGINS:
                raise bad_request(f"origin must be one of {', '.join(ORIGINS)}")
            ts = now_ms()
            oid, cid, aid = (str(uuid.uuid4()) for _ in range(3))
            emails = [email] if email else []
            phones = [{"type": "mobile", "value": phone}] if phone else []
            self.contacts[cid] = {"id": cid, "name": name, "headline": "", "location": None,
                                  "emails": list(emails), "phones": list(phones),
                                  "isAnonymized": False}
            self.applications[aid] = {"id": aid, "opportunityId": oid, "posting": posting_id,
                                      "createdAt": ts, "type": "posting"}
            opp = {
                "id": oid, "name": name, "headline": "", "contact": cid, "emails": emails,
                "phones": phones, "location": None, "links": [], "stage": stage_id,
                "stageChanges": [{"toStageId": stage_id, "toStageIndex": self.stage_index(stage_id),
                                  "userId": None, "updatedAt": ts}],
                "archived": None, "tags": list(dict.fromkeys(tags or [])), "sources": [],
                "origin": origin, "sourcedBy": None, "owner": None, "followers": [],
                "applications": [aid], "createdAt": ts, "updatedAt": ts,
                "lastInteractionAt": ts, "lastAdvancedAt": ts,
            }
            self.opportunities[oid] = opp
            self.notes[oid] = []
            data = {**self._ids(opp), "applicationId": aid}
            entry = {**self._ids(opp), "toStageId": stage_id, "fromStageId": None}
            return opp, [Event("applicationCreated", data, origin),
                         Event("candidateStageChange", entry, origin, only_with="webhook_stage_change_on_create")]

    def move(self, opp_id: str, stage_id: str, user_id: str | None = None
             ) -> tuple[dict, list[Event]]:
        """Move to ``stage_id``, record a stageChange, fire candidateStageChange.

        Moving to the current stage changes nothing and fires nothing.
        """
        with self.lock:
            opp = self.opportunity(opp_id)
            self.stage(stage_id)
            from_stage = opp["stage"]
            if from_stage == stage_id:
                return opp, []
            ts = now_ms()
            opp["stage"] = stage_id
            opp["stageChanges"].append({"toStageId": stage_id,
                                        "toStageIndex": self.stage_index(stage_id),
                                        "userId": user_id, "updatedAt": ts})
            opp["updatedAt"] = opp["lastAdvancedAt"] = opp["lastInteractionAt"] = ts
            data = {**self._ids(opp), "toStageId": stage_id, "fromStageId": from_stage}
            return opp, [Event("candidateStageChange", data, opp["origin"])]

    def set_archived(self, opp_id: str, reason_id: str | None, user_id: str | None = None
                     ) -> tuple[dict, list[Event]]:
        """Archive with ``reason_id`` (or unarchive with None); fires candidateArchiveChange,
        plus candidateHired when the reason's type is "hired". No change fires nothing."""
        with self.lock:
            opp = self.opportunity(opp_id)
            reason = self.archive_reason(reason_id) if reason_id is not None else None
            before = opp["archived"]
            if before is None and reason is None:
                return opp, []
            if before is not None and reason is not None and before["reason"] == reason["id"]:
                return opp, []
            ts = now_ms()
            after = {"archivedAt": ts, "reason": reason["id"]} if reason else None
            opp["archived"] = after
            opp["updatedAt"] = opp["lastInteractionAt"] = ts
            events = [Event("candidateArchiveChange",
                            {**self._ids(opp), "fromArchived": dict(before) if before else None,
                             "toArchived": dict(after) if after else None}, opp["origin"])]
            if reason is not None and reason["type"] == "hired":
                events.append(Event("candidateHired", self._ids(opp), opp["origin"]))
            return opp, events

    def hire(self, opp_id: str, user_id: str | None = None) -> tuple[dict, list[Event]]:
        """Mark hired: archive with the first active "hired" reason (fires both events)."""
        with self.lock:
            reason = next((r for r in self.archive_reasons.values()
                           if r["type"] == "hired" and r["status"] == "active"), None)
            if reason is None:
                raise bad_request("no active archive reason of type hired")
            return self.set_archived(opp_id, reason["id"], user_id)

    def delete_opportunity(self, opp_id: str) -> list[Event]:
        """Delete a candidate (later reads 404); fires candidateDeleted."""
        with self.lock:
            opp = self.opportunity(opp_id)
            del self.opportunities[opp_id]
            opp["deletedAt"] = now_ms()
            self.deleted[opp_id] = opp
            return [Event("candidateDeleted", self._ids(opp), opp["origin"])]

    def add_note(self, opp_id: str, value: str, *, user_id: str | None, secret: bool = False,
                 score: int | None = None, created_at: int | None = None) -> dict:
        """Append an API-created note and return its record."""
        with self.lock:
            opp = self.opportunity(opp_id)
            note = {"id": str(uuid.uuid4()), "opportunityId": opp_id, "value": value,
                    "user": user_id, "secret": bool(secret), "score": score,
                    "stage": opp["stage"], "createdAt": created_at or now_ms()}
            self.notes[opp_id].append(note)
            opp["lastInteractionAt"] = now_ms()
            return note

    def notes_of(self, opp_id: str) -> list[dict]:
        with self.lock:
            self.opportunity(opp_id)
            return list(self.notes[opp_id])

    def delete_note(self, opp_id: str, note_id: str) -> None:
        with self.lock:
            self.opportunity(opp_id)
            notes = self.notes[opp_id]
            for i, note in enumerate(notes):
                if note["id"] == note_id:
                    del notes[i]
                    return
            raise not_found("notes", note_id)

    def change_tags(self, opp_id: str, tags: list[str], add: bool) -> dict:
        """Add (keeping order, no duplicates) or remove tags; returns the opportunity."""
        with self.lock:
            opp = self.opportunity(opp_id)
            if add:
                opp["tags"] = list(dict.fromkeys([*opp["tags"], *tags]))
            else:
                opp["tags"] = [t for t in opp["tags"] if t not in set(tags)]
            opp["updatedAt"] = now_ms()
            return opp

    # ---------------------------------------------------------------- webhooks
    def webhook(self, webhook_id: str) -> dict:
        with self.lock:
            return self._get(self.webhooks, "webhooks", webhook_id)

    def create_webhook(self, *, url: str, event: str, configuration: dict | None,
                       source: str, active: bool, signed: bool = True) -> dict:
        """Register a webhook (``source`` "api" or "ui") with a fresh signature token, or with
        none (``signed=False``: a UI webhook whose signing token was never generated, whose
        deliveries carry no ``signature``, lever.md §1.4)."""
        with self.lock:
            ts = now_ms()
            hook = {"id": str(uuid.uuid4()), "event": event, "url": url,
                    "configuration": dict(configuration or {}),
                    "signatureToken": new_signature_token() if signed else None, "createdAt": ts,
                    "updatedAt": ts, "source": source, "active": active}
            self.webhooks[hook["id"]] = hook
            return hook

    def api_webhook(self, webhook_id: str) -> dict:
        """The webhook, if it was created via the API (400 for UI-configured ones)."""
        hook = self.webhook(webhook_id)
        if hook["source"] != "api":
            raise bad_request(f"webhook {webhook_id} was configured in the Lever UI; only "
                              "webhooks created via the API can be modified via the API")
        return hook

    def update_webhook(self, webhook_id: str, *, url: str | None,
                       configuration: dict | None) -> dict:
        with self.lock:
            hook = self.api_webhook(webhook_id)
            if url is not None:
                hook["url"] = url
            if configuration is not None:
                hook["configuration"] = dict(configuration)
            hook["updatedAt"] = now_ms()
            return hook

    def delete_webhook(self, webhook_id: str, *, via_api: bool) -> None:
        with self.lock:
            if via_api:
                self.api_webhook(webhook_id)
            else:
                self.webhook(webhook_id)
            del self.webhooks[webhook_id]

    def set_webhook_active(self, webhook_id: str, active: bool) -> dict:
        with self.lock:
            hook = self.webhook(webhook_id)
            hook["active"] = active
            hook["updatedAt"] = now_ms()
            return hook

    def regenerate_token(self, webhook_id: str) -> dict:
        """New signature token for a webhook (its first, for an unsigned one); the old one
        stops verifying."""
        with self.lock:
            hook = self.webhook(webhook_id)
            hook["signatureToken"] = new_signature_token()
            hook["updatedAt"] = now_ms()
            return hook

    def webhooks_for(self, event: str, origin: str | None) -> list[dict]:
        """Copies of the active webhooks to notify about ``event`` for a candidate of
        ``origin`` (``configuration.conditions.origins`` filters configurable events)."""
        with self.lock:
            out = []
            for hook in self.webhooks.values():
                if hook["event"] != event or not hook["active"]:
                    continue
                origins = (hook["configuration"].get("conditions") or {}).get("origins")
                if origins and event in CONFIGURABLE_EVENTS and origin not in origins:
                    continue
                out.append(dict(hook))
            return out

    def webhook_active(self, webhook_id: str) -> bool:
        with self.lock:
            hook = self.webhooks.get(webhook_id)
            return bool(hook and hook["active"])


def validate_webhook_fields(url, event, configuration) -> None:
    """Raise 400 unless ``url``/``event``/``configuration`` are acceptable to Lever."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise bad_request("url is required and must be an http(s) URL")
    if event not in EVENTS:
        raise bad_request(f"event must be one of: {', '.join(EVENTS)}")
    if configuration is None:
        return
    if not isinstance(configuration, dict):
        raise bad_request("configuration must be an object")
    conditions = configuration.get("conditions")
    if conditions is None:
        return
    origins = conditions.get("origins") if isinstance(conditions, dict) else None
    if not isinstance(origins, list) or not all(o in ORIGINS for o in origins):
        raise bad_request(f"configuration.conditions.origins must list values of "
                          f"{', '.join(ORIGINS)}")
    if event not in CONFIGURABLE_EVENTS:
        raise bad_request(f"event {event} cannot be configured with conditions")
