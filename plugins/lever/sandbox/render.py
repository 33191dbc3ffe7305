"""Serializers: store records -> Lever API objects (lever.md §3).

Contract: every function returns a new dict (no aliasing of store records), so the result may
be handed to ``jsonify`` after the state lock is released. Call them while holding
``state.lock`` when a consistent view across several records matters. ``base`` is the
sandbox's public base URL without a trailing slash; it builds ``urls.show`` links that point
to the sandbox's own HTML pages.
"""

from __future__ import annotations

import copy

from .state import SandboxState

OPPORTUNITY_EXPANDABLE = frozenset(
    {"applications", "stage", "contact", "owner", "followers", "sourcedBy"})


def user_obj(user: dict) -> dict:
    return dict(user)


def stage_obj(stage: dict) -> dict:
    return {"id": stage["id"], "text": stage["text"]}


def archive_reason_obj(reason: dict) -> dict:
    return dict(reason)


def contact_obj(contact: dict) -> dict:
    return copy.deepcopy(contact)


def posting_obj(posting: dict, base: str) -> dict:
    out = copy.deepcopy(posting)
    out["urls"] = {"list": f"{base}/postings", "show": f"{base}/postings/{posting['id']}",
                   "apply": f"{base}/postings/{posting['id']}/apply"}
    return out


def application_obj(state: SandboxState, app: dict) -> dict:
    """An application of an opportunity (type "posting"), with the posting's people."""
    opp = state.opportunities.get(app["opportunityId"]) or state.deleted.get(app["opportunityId"])
    posting = state.postings.get(app["posting"], {})
    email = opp["emails"][0] if opp and opp["emails"] else None
    return {
        "id": app["id"], "opportunityId": app["opportunityId"],
        "candidateId": app["opportunityId"], "createdAt": app["createdAt"],
        "type": app["type"], "posting": app["posting"],
        "postingOwner": posting.get("owner"), "postingHiringManager": posting.get("hiringManager"),
        "user": None, "name": opp["name"] if opp else None, "email": email, "phone": None,
        "company": None, "links": [], "comments": None, "customQuestions": [],
        "archived": copy.deepcopy(opp["archived"]) if opp else None,
        "requisitionForHire": None,
    }


def opportunity_obj(state: SandboxState, opp: dict, base: str,
                    expand: set[str] | frozenset[str] = frozenset()) -> dict:
    """The opportunity as ``GET /opportunities/:id`` returns it, with ``expand`` applied."""
    out = {
        "id": opp["id"], "name": opp["name"], "headline": opp["headline"],
        "contact": opp["contact"], "emails": list(opp["emails"]),
        "phones": copy.deepcopy(opp["phones"]), "confidentiality": "non-confidential",
        "location": opp["location"], "links": list(opp["links"]), "stage": opp["stage"],
        "stageChanges": copy.deepcopy(opp["stageChanges"]),
        "archived": copy.deepcopy(opp["archived"]), "tags": list(opp["tags"]),
        "sources": list(opp["sources"]), "origin": opp["origin"], "sourcedBy": opp["sourcedBy"],
        "owner": opp["owner"], "followers": list(opp["followers"]),
        "applications": list(opp["applications"]), "createdAt": opp["createdAt"],
        "updatedAt": opp["updatedAt"], "lastInteractionAt": opp["lastInteractionAt"],
        "lastAdvancedAt": opp["lastAdvancedAt"], "snoozedUntil": None, "resume": None,
        "urls": {"list": f"{base}/candidates", "show": f"{base}/candidates/{opp['id']}"},
        "dataProtection": None, "isAnonymized": False,
    }
    users = state.users
    if "applications" in expand:
        out["applications"] = [application_obj(state, state.applications[a])
                               for a in opp["applications"]]
    if "stage" in expand and opp["stage"] in state.stages:
        out["stage"] = stage_obj(state.stages[opp["stage"]])
    if "contact" in expand and opp["contact"] in state.contacts:
        out["contact"] = contact_obj(state.contacts[opp["contact"]])
    for key in ("owner", "sourcedBy"):
        if key in expand and out[key] in users:
            out[key] = user_obj(users[out[key]])
    if "followers" in expand:
        out["followers"] = [user_obj(users[u]) for u in opp["followers"] if u in users]
    return out


def note_obj(note: dict) -> dict:
    """A note as ``GET /opportunities/:id/notes`` lists it (one "Comment" field)."""
    return {
        "id": note["id"], "text": "Note",
        "fields": [{"type": "note", "text": "Comment", "value": note["value"],
                    "createdAt": note["createdAt"], "user": note["user"],
                    "score": note["score"], "stage": note["stage"]}],
        "user": note["user"], "secret": note["secret"], "createdAt": note["createdAt"],
        "completedAt": note["createdAt"], "deletedAt": None,
    }


def webhook_obj(hook: dict, *, with_token: bool = False) -> dict:
    """A webhook object; ``configuration.signatureToken`` only when ``with_token``
    (Lever returns the token in the create response only)."""
    configuration = copy.deepcopy(hook["configuration"])
    if with_token:
        configuration["signatureToken"] = hook["signatureToken"]
    return {"id": hook["id"], "event": hook["event"], "url": hook["url"],
            "configuration": configuration, "createdAt": hook["createdAt"],
            "updatedAt": hook["updatedAt"]}
