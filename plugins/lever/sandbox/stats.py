"""Counters of the Lever sandbox, exposed at ``GET /_sandbox/stats``.

Contract: ``Stats`` is thread-safe. ``incr(name, key=None, n=1)`` bumps a plain counter, or a
per-key counter inside the named group when ``key`` is given (e.g. ``incr("requests_by_path",
"/v1/stages")``, ``incr("oauth_refreshes", client_id)``). ``snapshot()`` returns a JSON-ready
copy; ``reset()`` zeroes everything. Counter names used by the sandbox:

- requests (all /v1 calls), requests_by_path (real path), requests_by_route ("METHOD rule"),
  responses_by_status, rate_limited (429 from the limiter), faults_injected (by kind/code)
- oauth_token_requests (every token endpoint call), oauth_token_grants (by grant type),
  oauth_refreshes (by client id), oauth_failures (by error), oauth_token_faults
  (injected token endpoint faults, by kind/code)
- notes_created, notes_deleted
- webhook_events, webhook_attempts, webhook_delivered, webhook_failed_attempts,
  webhook_gave_up, webhook_dropped, webhook_duplicated, webhook_tests
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict


class Stats:
    """Thread-safe counters and per-key counter groups."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: Counter[str] = Counter()
        self._groups: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def incr(self, name: str, key: object = None, n: int = 1) -> None:
        with self._lock:
            if key is None:
                self._counters[name] += n
            else:
                self._groups[name][str(key)] += n

    def get(self, name: str, key: object = None) -> int:
        with self._lock:
            if key is None:
                return self._counters[name]
            return self._groups[name][str(key)]

    def snapshot(self) -> dict:
        with self._lock:
            out: dict = dict(self._counters)
            out.update({name: dict(group) for name, group in self._groups.items()})
            return out

    def reset(self) -> None:
        with self._lock:
            self._counters.clear()
            self._groups.clear()
