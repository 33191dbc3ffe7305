"""Per-API-key token bucket of the Canditech sandbox.

Contract: ``RateLimiter.take(key, rate, burst)`` consumes one token from ``key``'s bucket
(capacity ``burst``, refilled at ``rate`` tokens per second, full at first use) and returns
``None`` when allowed, or the whole number of seconds (>= 1) to wait before the next token, to be
sent as ``Retry-After``. ``rate <= 0`` disables limiting. Thread-safe; ``reset()`` forgets all
buckets.
"""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    """Token buckets keyed by API key."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def take(self, key: str, rate: float, burst: float) -> int | None:
        if rate <= 0:
            return None
        capacity = max(float(burst), 1.0)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / rate))
