"""The source read API other plugins use (``ctx.source``): candidates, postings, stages, users;
the archive reasons the attachment form offers; and the ids of the candidates in a stage of a
posting, for the pipeline's backfill (``list_stage_candidates``, read live, never cached).

A candidate is always read live (``GET /opportunities/:id?expand=applications&expand=stage
&expand=contact``), tolerant of fields that come back expanded or as plain ids. Postings, stages,
users and archive reasons change rarely and are cached for ``LEVER_CACHE_SECONDS`` (default 60)
in the plugin's records (shared by every worker of the connection); ``refresh=True`` or
``clear_cache`` re-reads. The caches hold ids, titles and Lever users' names and emails, never
candidates' data. ``perform_as_problem`` checks the ``perform_as`` user for *Test connection*.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

from hub.entities import ArchiveReason, Candidate, Posting, SourceUser, Stage, StageCandidate

from .client import LeverAPIError, LeverClient, LeverNotFound, path

DEFAULT_CACHE_SECONDS = 60.0
CACHE_PREFIX = "cache:"
CACHES = ("postings", "stages", "users", "archive_reasons")


# --------------------------------------------------------------------------- record helpers


def store_record(records, key: str, value: Any) -> None:
    """``records.put`` that is safe when two workers create the same key at once."""
    if not records.put_if_absent(key, value):
        records.put(key, value)


def _cache_seconds(ctx) -> float:
    try:
        return float(ctx.config.get("LEVER_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))
    except (TypeError, ValueError):
        return DEFAULT_CACHE_SECONDS


def cached(ctx, name: str, load: Callable[[], list[dict]], refresh: bool = False) -> list[dict]:
    key = CACHE_PREFIX + name
    if not refresh:
        entry = ctx.records.get(key)
        if (isinstance(entry, dict) and isinstance(entry.get("items"), list)
                and time.time() - float(entry.get("at") or 0) < _cache_seconds(ctx)):
            return entry["items"]
    items = load()
    store_record(ctx.records, key, {"at": time.time(), "items": items})
    return items


def clear_cache(ctx) -> None:
    for name in CACHES:
        ctx.records.delete(CACHE_PREFIX + name)


# --------------------------------------------------------------------------- small parsers


def _id_of(value: Any) -> str | None:
    """An id given as a string, or inside an expanded object."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def _first_email(values: Any) -> str | None:
    if not isinstance(values, list):
        return None
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, Mapping) and isinstance(value.get("value"), str) and value["value"].strip():
            return value["value"].strip()
    return None


# --------------------------------------------------------------------------- stages, users, postings


def _load_named(client: LeverClient, path: str, *extra: str) -> list[dict]:
    """Every ``{id, text}`` item of a Lever list (stages, archive reasons), with the ``extra``
    fields as text ("" when absent); text defaults to the id."""
    return [{"id": item["id"], "text": str(item.get("text") or item["id"]),
             **{name: str(item.get(name) or "") for name in extra}}
            for item in client.paginate(path) if isinstance(item.get("id"), str)]


def list_stages(ctx, client: LeverClient, refresh: bool = False) -> list[Stage]:
    items = cached(ctx, "stages", lambda: _load_named(client, "/stages"), refresh)
    return [Stage(id=s["id"], name=s["text"]) for s in items]


def list_archive_reasons(ctx, client: LeverClient, refresh: bool = False) -> list[ArchiveReason]:
    # ``type``: "hired" or "non-hired" (a list cached before the type was kept has none until it is read again)
    items = cached(ctx, "archive_reasons", lambda: _load_named(client, "/archive_reasons", "type"), refresh)
    return [ArchiveReason(id=r["id"], name=r["text"], type=r.get("type", "")) for r in items]


def _load_users(client: LeverClient) -> list[dict]:
    users = []
    for u in client.paginate("/users"):
        if not isinstance(u.get("id"), str):
            continue
        users.append({"id": u["id"], "name": str(u.get("name") or ""), "email": str(u.get("email") or ""),
                      "accessRole": str(u.get("accessRole") or "")})
    return users


def list_users(ctx, client: LeverClient, refresh: bool = False) -> list[SourceUser]:
    items = cached(ctx, "users", lambda: _load_users(client), refresh)
    return [SourceUser(id=u["id"], name=u["name"], email=u["email"], access_role=u["accessRole"]) for u in items]


def perform_as_problem(client: LeverClient, user_id: str | None) -> str | None:
    """Why ``user_id`` cannot be the ``perform_as`` user of writes (``GET /users/:id``): unknown to
    Lever, or deactivated; None when it is an active user or unset. Other errors raise."""
    if not user_id:
        return None
    try:
        data = client.get_data(path("users", user_id))
    except LeverNotFound as exc:
        return (f"Lever has no user {user_id} (“{exc.lever_message or exc.code}”) and refuses every note, "
                "tag, stage move and archive written as that user")
    if isinstance(data, Mapping) and data.get("deactivatedAt"):
        return f"the Lever user {user_id} is deactivated"
    return None


def _load_postings(client: LeverClient) -> list[dict]:
    postings = []
    for p in client.paginate("/postings"):
        if not isinstance(p.get("id"), str):
            continue
        followers = p.get("followers") if isinstance(p.get("followers"), list) else []
        categories = p.get("categories") if isinstance(p.get("categories"), Mapping) else {}
        postings.append({
            "id": p["id"], "text": str(p.get("text") or ""), "state": str(p.get("state") or ""),
            "owner": _id_of(p.get("owner")), "hiringManager": _id_of(p.get("hiringManager")),
            "followers": [f for f in (_id_of(x) for x in followers) if f],
            # what tells apart postings of one title in the hub's lists
            "location": _text(categories.get("location")), "team": _text(categories.get("team")),
        })
    return postings


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _raw_postings(ctx, client: LeverClient, refresh: bool = False) -> list[dict]:
    return cached(ctx, "postings", lambda: _load_postings(client), refresh)


def list_postings(ctx, client: LeverClient, refresh: bool = False) -> list[Posting]:
    postings = _raw_postings(ctx, client, refresh)
    emails = {u.id: u.email for u in list_users(ctx, client, refresh) if u.email}

    def email(user_id: str | None) -> str | None:
        return emails.get(user_id) if user_id else None

    return [Posting(id=p["id"], title=p["text"], state=p["state"], owner_email=email(p.get("owner")),
                    hiring_manager_email=email(p.get("hiringManager")),
                    follower_emails=tuple(e for e in (email(f) for f in p.get("followers") or []) if e),
                    location=p.get("location", ""), team=p.get("team", ""))  # a cache from before: none
            for p in postings]


def _posting_title(ctx, client: LeverClient, posting_id: str) -> str | None:
    for posting in _raw_postings(ctx, client):
        if posting["id"] == posting_id:
            return posting["text"] or None
    try:  # a posting newer than the cache
        data = client.get_data(path("postings", posting_id))
    except LeverAPIError:
        return None
    if not isinstance(data, Mapping):
        return None
    return str(data.get("text") or "") or None


# --------------------------------------------------------------------------- candidates


def _application_posting(client: LeverClient, opportunity_id: str, applications: Any) -> str | None:
    if not isinstance(applications, list) or not applications:
        return None
    first = applications[0]
    if isinstance(first, Mapping):
        return _id_of(first.get("posting"))
    if isinstance(first, str):  # not expanded: read the application
        try:
            data = client.get_data(path("opportunities", opportunity_id, "applications", first))
        except LeverAPIError:
            return None
        return _id_of(data.get("posting")) if isinstance(data, Mapping) else None
    return None


def _contact_email(client: LeverClient, contact: Any) -> str | None:
    if isinstance(contact, Mapping):
        return _first_email(contact.get("emails"))
    if isinstance(contact, str) and contact:
        try:
            data = client.get_data(path("contacts", contact))
        except LeverAPIError:  # e.g. 403 without contact:read:admin
            return None
        return _first_email(data.get("emails")) if isinstance(data, Mapping) else None
    return None


def _is_archived(data: Mapping[str, Any]) -> bool:
    archived = data.get("archived")
    return bool(archived) or data.get("archivedAt") is not None


def get_candidate(ctx, client: LeverClient, opportunity_id: str) -> Candidate | None:
    if not isinstance(opportunity_id, str) or not opportunity_id:
        return None
    params = [("expand", "applications"), ("expand", "stage"), ("expand", "contact")]
    try:
        data = client.get_data(path("opportunities", opportunity_id), params)
    except LeverNotFound:
        return None
    if not isinstance(data, Mapping) or data.get("deletedAt"):
        return None
    contact = data.get("contact")
    name = data.get("name") or (contact.get("name") if isinstance(contact, Mapping) else None) or ""
    email = _first_email(data.get("emails")) or _contact_email(client, contact)
    posting_id = _application_posting(client, opportunity_id, data.get("applications"))
    urls = data.get("urls") if isinstance(data.get("urls"), Mapping) else {}
    return Candidate(
        opportunity_id=str(data.get("id") or opportunity_id),
        name=str(name),
        email=email,
        posting_id=posting_id,
        posting_title=_posting_title(ctx, client, posting_id) if posting_id else None,
        stage_id=_id_of(data.get("stage")),
        archived=_is_archived(data),
        profile_url=urls.get("show") if isinstance(urls.get("show"), str) else None,
    )


def current_state(client: LeverClient, opportunity_id: str) -> tuple[str | None, bool] | None:
    """``(stage id, archived)`` of an opportunity now, or None when it no longer exists."""
    try:
        data = client.get_data(path("opportunities", opportunity_id))
    except LeverNotFound:
        return None
    if not isinstance(data, Mapping):
        return None
    return _id_of(data.get("stage")), _is_archived(data)



def list_stage_candidates(client: LeverClient, posting_id: str, stage_id: str,
                          limit: int | None = None) -> list[StageCandidate]:
    """The opportunities in ``stage_id`` of ``posting_id`` now, not archived, with the candidate's
    name and Lever page (``urls.show``) for the backfill page: ``GET
    /opportunities?posting_id=..&stage_id=..&archived=false`` (lever.md §3.2), page by page, in
    Lever's order, at most ``limit`` (no more pages are read once it is reached).

    The filters are Lever's; each item is checked again (its stage, archived, deleted) so a server
    that ignored a filter cannot hand back candidates of another stage. Lever's default
    ``confidentiality`` applies (non-confidential only): a key without confidential access could
    not read the others anyway."""
    if not isinstance(posting_id, str) or not posting_id or not isinstance(stage_id, str) or not stage_id:
        return []
    params = [("posting_id", posting_id), ("stage_id", stage_id), ("archived", "false")]
    found: list[StageCandidate] = []
    seen: set[str] = set()
    if limit is not None and limit <= 0:
        return found
    for item in client.paginate("/opportunities", params):
        opportunity_id = item.get("id")
        if not isinstance(opportunity_id, str) or not opportunity_id or opportunity_id in seen:
            continue
        if item.get("deletedAt") or _is_archived(item):
            continue
        stage = _id_of(item.get("stage"))
        if stage is not None and stage != stage_id:
            continue
        seen.add(opportunity_id)
        urls = item.get("urls") if isinstance(item.get("urls"), Mapping) else {}
        found.append(StageCandidate(opportunity_id, item.get("name") if isinstance(item.get("name"), str) else "",
                                    urls.get("show") if isinstance(urls.get("show"), str) else None))
        if limit is not None and len(found) >= limit:
            break
    return found
