"""Deterministic seed data of the Lever sandbox.

Contract: every id below is a stable opaque string, identical after every ``/_sandbox/reset``,
so tests, benchmarks and the demo may refer to them (``SEED["stages"]["canditech"]`` is
``"stage-canditech"``). Timestamps of seeded records are fixed ms values (``SEED_EPOCH_MS`` + n
minutes). All seeded candidates start in "New applicant", unarchived, without notes or tags.

``SEED`` (a plain dict) maps short names to ids:

- ``stages``: new_applicant, recruiter_screen, canditech, phone_interview, onsite_interview, offer
- ``users``: super_admin, admin, team_member, limited (``lena.limited@example.com``)
- ``postings``: backend (Backend Engineer), data_analyst (Data Analyst), closed (Office Manager)
- ``archive_reasons``: underqualified (non-hired), hired (hired)
- ``opportunities``: alice, bob, carol (Backend Engineer), dave, erin (Data Analyst),
  nomail (Backend Engineer, no email address)
- ``account``: the Lever account id carried by OAuth access tokens
- ``api_key``, ``oauth_client_id``, ``oauth_client_secret``: the default credentials
"""

from __future__ import annotations

SEED_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
ACCOUNT_ID = "account-sandbox"
DEFAULT_API_KEY = "lever-sandbox-key"
DEFAULT_CLIENT_ID = "hub-sandbox-client"
DEFAULT_CLIENT_SECRET = "hub-sandbox-secret"

# (key, id, text) in pipeline order; the index is a stage's ``toStageIndex``.
STAGES = [
    ("new_applicant", "stage-new-applicant", "New applicant"),
    ("recruiter_screen", "stage-recruiter-screen", "Recruiter Screen"),
    ("canditech", "stage-canditech", "Canditech Stage"),
    ("phone_interview", "stage-phone-interview", "Phone Interview"),
    ("onsite_interview", "stage-onsite-interview", "On-Site Interview"),
    ("offer", "stage-offer", "Offer"),
    ("vervoe", "stage-vervoe", "Vervoe Stage"),  # a second assessment provider's stage
]

# (key, id, name, email, accessRole)
USERS = [
    ("super_admin", "user-super-admin", "Sam Super", "sam.super@example.com", "super admin"),
    ("admin", "user-admin", "Ada Admin", "ada.admin@example.com", "admin"),
    ("team_member", "user-team-member", "Tom Team", "tom.team@example.com", "team member"),
    ("limited", "user-limited", "Lena Limited", "lena.limited@example.com", "limited team member"),
]

# (key, id, text, state, team, location, followers)
POSTINGS = [
    ("backend", "posting-backend-engineer", "Backend Engineer", "published", "Engineering",
     "Berlin", ["user-admin", "user-team-member", "user-limited"]),
    ("data_analyst", "posting-data-analyst", "Data Analyst", "published", "Data",
     "Remote", ["user-admin", "user-team-member"]),
    ("closed", "posting-closed", "Office Manager", "closed", "Operations",
     "Berlin", ["user-admin"]),
]

# (key, id, text, type)
ARCHIVE_REASONS = [
    ("underqualified", "reason-underqualified", "Underqualified", "non-hired"),
    ("hired", "reason-hired", "Hired", "hired"),
]

# (key, opportunity id, name, email or None, posting key)
CANDIDATES = [
    ("alice", "opp-alice", "Alice Anders", "alice@example.com", "backend"),
    ("bob", "opp-bob", "Bob Brown", "bob@example.com", "backend"),
    ("carol", "opp-carol", "Carol Chen", "carol@example.com", "backend"),
    ("dave", "opp-dave", "Dave Diaz", "dave@example.com", "data_analyst"),
    ("erin", "opp-erin", "Erin Evans", "erin@example.com", "data_analyst"),
    ("nomail", "opp-nomail", "Nomail Person", None, "backend"),
]

SEED: dict = {
    "account": ACCOUNT_ID,
    "api_key": DEFAULT_API_KEY,
    "oauth_client_id": DEFAULT_CLIENT_ID,
    "oauth_client_secret": DEFAULT_CLIENT_SECRET,
    "stages": {key: sid for key, sid, _ in STAGES},
    "users": {key: uid for key, uid, *_ in USERS},
    "postings": {key: pid for key, pid, *_ in POSTINGS},
    "archive_reasons": {key: rid for key, rid, *_ in ARCHIVE_REASONS},
    "opportunities": {key: oid for key, oid, *_ in CANDIDATES},
}


def seed_records() -> dict:
    """Return fresh record dicts for a new store (nothing shared between calls).

    Keys: stages, users, postings, archive_reasons, contacts, applications, opportunities
    (each a dict id -> record, insertion-ordered as listed above).
    """
    minute = 60_000
    stages = {sid: {"id": sid, "text": text} for _, sid, text in STAGES}
    users = {
        uid: {"id": uid, "name": name, "username": email.split("@")[0], "email": email,
              "accessRole": role, "createdAt": SEED_EPOCH_MS, "deactivatedAt": None,
              "photo": None, "externalDirectoryId": None}
        for _, uid, name, email, role in USERS
    }
    postings = {
        pid: {"id": pid, "text": text, "state": state, "user": "user-admin",
              "owner": "user-admin", "hiringManager": "user-team-member",
              "followers": list(followers),
              "categories": {"team": team, "location": location, "commitment": "Full-time",
                             "department": team, "level": None},
              "tags": [], "distributionChannels": ["public", "internal"],
              "confidentiality": "non-confidential",
              "createdAt": SEED_EPOCH_MS + i * minute, "updatedAt": SEED_EPOCH_MS + i * minute}
        for i, (_, pid, text, state, team, location, followers) in enumerate(POSTINGS)
    }
    reasons = {rid: {"id": rid, "text": text, "status": "active", "type": rtype}
               for _, rid, text, rtype in ARCHIVE_REASONS}
    posting_ids = {key: pid for key, pid, *_ in POSTINGS}
    contacts: dict = {}
    applications: dict = {}
    opportunities: dict = {}
    first_stage = STAGES[0][1]
    for i, (key, oid, name, email, posting_key) in enumerate(CANDIDATES):
        created = SEED_EPOCH_MS + (10 + i) * minute
        contact_id, app_id = f"contact-{key}", f"app-{key}"
        emails = [email] if email else []
        contacts[contact_id] = {"id": contact_id, "name": name, "headline": "",
                                "location": {"name": "Berlin"}, "emails": list(emails),
                                "phones": [], "isAnonymized": False}
        applications[app_id] = {"id": app_id, "opportunityId": oid,
                                "posting": posting_ids[posting_key], "createdAt": created,
                                "type": "posting"}
        opportunities[oid] = {
            "id": oid, "name": name, "headline": "", "contact": contact_id,
            "emails": list(emails), "phones": [], "location": "Berlin", "links": [],
            "stage": first_stage,
            "stageChanges": [{"toStageId": first_stage, "toStageIndex": 0, "userId": None,
                              "updatedAt": created}],
            "archived": None, "tags": [], "sources": ["Company website"], "origin": "applied",
            "sourcedBy": None, "owner": "user-admin", "followers": ["user-admin"],
            "applications": [app_id], "createdAt": created, "updatedAt": created,
            "lastInteractionAt": created, "lastAdvancedAt": created,
        }
    return {"stages": stages, "users": users, "postings": postings,
            "archive_reasons": reasons, "contacts": contacts,
            "applications": applications, "opportunities": opportunities}
