"""Token-bucket rate limiter, one bucket per credential (lever.md §3.14).

Contract: ``TokenBucketLimiter(rate, burst)`` keeps a bucket of ``burst`` tokens per key,
refilled at ``rate`` tokens/second (a fresh key starts full). ``take(key)`` returns 0.0 when the
request may pass (one token consumed) or, when refused, the seconds until a token is available.
Thread-safe. ``configure`` changes rate/burst for every bucket; ``reset`` forgets all buckets.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucketLimiter:
    """Per-key token buckets: steady ``rate`` per second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self.configure(rate, burst)

    def configure(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        with self._lock:
            self.rate, self.burst = float(rate), int(burst)

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def take(self, key: str) -> float:
        """Consume a token for ``key``: 0.0 if allowed, else seconds to wait."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
