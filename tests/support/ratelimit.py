"""Rate budgets in tests: ``spend(limiter)`` leaves a connection's shared bucket empty and slow to
refill, so the next call within a webhook's request must not wait for it."""

from __future__ import annotations

from hub.errors import TemporaryError


def spend(limiter, refill_seconds: float = 8.0) -> None:
    """Empty ``limiter`` (as ``ctx.rate_limiter`` returns it) and make it refill one token every
    ``refill_seconds``: within a worker's wait (60 s), not within a webhook's. Takes up to
    ``refill_seconds`` (the fraction of a token left is waited out, so the bucket is exactly at 0)."""
    limiter.rate = 1.0 / refill_seconds
    while True:
        try:
            limiter.acquire(timeout=0)
        except TemporaryError:
            break
    limiter.acquire(timeout=60)
