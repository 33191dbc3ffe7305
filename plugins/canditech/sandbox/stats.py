"""Request statistics of the Canditech sandbox (for tests and benchmarks).

Contract: ``Stats.record(method, route, path, status)`` counts one answered request;
``Stats.count(name)`` bumps a named counter (``rate_limited``, ``fault_error``,
``fault_timeout``, ``fault_reset``, ``fault_down``...). ``snapshot()`` returns
``{"total", "by_route": {"GET /v1/invitations/<invitation_id>": {"200": n}},
"by_path": {"GET /v1/assessments": {"200": n}}, "status_429": n, "counters": {...}}``.
Thread-safe; ``reset()`` zeroes everything.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict


class Stats:
    """Counters of requests by route/path and status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._by_route: dict[str, Counter] = defaultdict(Counter)
            self._by_path: dict[str, Counter] = defaultdict(Counter)
            self._counters: Counter = Counter()
            self._total = 0

    def record(self, method: str, route: str, path: str, status: int) -> None:
        with self._lock:
            self._total += 1
            self._by_route[f"{method} {route}"][str(status)] += 1
            self._by_path[f"{method} {path}"][str(status)] += 1

    def count(self, name: str) -> None:
        with self._lock:
            self._counters[name] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "total": self._total,
                "by_route": {k: dict(v) for k, v in self._by_route.items()},
                "by_path": {k: dict(v) for k, v in self._by_path.items()},
                "status_429": sum(c.get("429", 0) for c in self._by_route.values()),
                "counters": dict(self._counters),
            }
