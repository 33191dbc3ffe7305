"""Lever-style pagination for list endpoints (lever.md §3.1).

Contract: ``paginate(items, args, scope, secret)`` reads ``limit`` (1-100, default 100) and
``offset`` (an opaque token previously returned as ``next``) from ``args`` and returns the
envelope ``{"data": [...], "hasNext": bool, "next": token}``; ``next`` is present only when
``hasNext`` is true. A token is ``"<position>.<mac>"``: it only validates for the list
(``scope``) and app (``secret``) that issued it, so a made-up or foreign offset answers 400
``{"code": "BadRequestError", "message": "Invalid offset token"}``. A bad ``limit`` answers 400
BadRequest.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

from .errors import LeverError, bad_request

MAX_LIMIT = 100


def _mac(secret: bytes, scope: str, position: int) -> str:
    return hmac.new(secret, f"{scope}:{position}".encode(), hashlib.sha256).hexdigest()[:20]


def make_token(secret: bytes, scope: str, position: int) -> str:
    """The opaque offset token that resumes ``scope`` at ``position``."""
    return f"{position}.{_mac(secret, scope, position)}"


def read_token(secret: bytes, scope: str, token: str) -> int:
    """The position encoded in ``token``; 400 BadRequestError if it was not issued here."""
    position, _, mac = token.partition(".")
    if position.isascii() and position.isdigit() and hmac.compare_digest(mac, _mac(secret, scope, int(position))):
        return int(position)
    raise LeverError(400, "BadRequestError", "Invalid offset token")


def read_limit(args: Mapping) -> int:
    raw = args.get("limit")
    if raw in (None, ""):
        return MAX_LIMIT
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise bad_request("limit must be an integer between 1 and 100") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request("limit must be an integer between 1 and 100")
    return limit


def paginate(items: Sequence, args: Mapping, scope: str, secret: bytes) -> dict:
    """One page of ``items`` (already rendered and ordered) in Lever's list envelope."""
    limit = read_limit(args)
    token = args.get("offset")
    start = read_token(secret, scope, token) if token else 0
    page = list(items[start:start + limit])
    end = start + len(page)
    envelope: dict = {"data": page, "hasNext": end < len(items)}
    if envelope["hasNext"]:
        envelope["next"] = make_token(secret, scope, end)
    return envelope
