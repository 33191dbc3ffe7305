"""Links that came from a vendor (a candidate's invite link, an ATS page): the pages and the API
pass on only http(s) addresses, never a ``javascript:`` or other scheme a vendor's data may hold."""

from __future__ import annotations

from typing import Any


def web_link(url: Any) -> str | None:
    """``url`` stripped if it is an http(s) address (a page a person can open), else None."""
    return url.strip() if isinstance(url, str) and url.strip().lower().startswith(("http://", "https://")) else None
