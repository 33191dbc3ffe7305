"""Rate budgets in tests: ``spend(limiter)`` leaves a connection's shared bucket empty and slow to
refill, so the next call within a webhook's request must not wait for it."""

from __future__ import annotations

from hub.errors import TemporaryError


def spend(limiter, refill_seconds: float = 8.0) -> None:
    """Empty ``limiter`` (as ``ctx.rate_limiter`` returns it) and make it refill one token every
    ``refill_seconds``: within a worker's wait (60 s), not within a webhook's. Takes up to
    ``refill_seconds`` (the fraction of a token left is waited out, so the bucket is exactly at 0).
    The slow refill stays whatever rate the plugin asks the bucket for next (``ctx.rate_limiter``
    would otherwise set its own rate again: the hub applies the values asked for last)."""
    limiter.rate = 1.0 / refill_seconds
    limiter.retune = lambda rate, burst: None
    while True:
        try:
            limiter.acquire(timeout=0)
        except TemporaryError:
            break
    limiter.acquire(timeout=60)
