"""Token-bucket rate limiters a plugin gets through ``ctx.rate_limiter``.

``LocalBucket`` is shared by the threads of one process (the embedded default). ``RedisBucket``
is shared by every process and machine using the same Redis (production), so all workers of a
connection together stay under the vendor's published limit (Lever: 10/s steady, bursts of 20).
``acquire`` blocks until a token is available or the timeout passes.
"""

from __future__ import annotations

import threading
import time

from hub.errors import TemporaryError


class LocalBucket:
    def __init__(self, rate: float, burst: int):
        self.rate = float(rate)
        self.burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def retune(self, rate: float, burst: int) -> None:
        """New rate and burst from the next take (tokens above the new burst are dropped then)."""
        with self._lock:
            self.rate, self.burst = float(rate), float(burst)

    def _wait_needed(self) -> float:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    def acquire(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                wait = self._wait_needed()
            if wait == 0:
                return
            if time.monotonic() + wait > deadline:
                raise TemporaryError("rate limit: no capacity within the timeout", retry_after=wait)
            time.sleep(wait)


# KEYS[1] bucket key; ARGV: rate, burst, now (seconds, float). Returns seconds to wait (0 = granted).
_REDIS_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or burst
local stamp = tonumber(state[2]) or now
-- a caller read the clock before another one that ran first: the bucket's time never goes back,
-- or the span between the two readings would be credited twice
if now < stamp then now = stamp end
tokens = math.min(burst, tokens + (now - stamp) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'stamp', now)
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""


class RedisBucket:
    def __init__(self, client, key: str, rate: float, burst: int):
        self.client = client
        self.key = key
        self.rate = float(rate)
        self.burst = float(burst)
        self._script = client.register_script(_REDIS_SCRIPT)

    def retune(self, rate: float, burst: int) -> None:
        """New rate and burst from the next take (each take sends them to Redis's script)."""
        self.rate, self.burst = float(rate), float(burst)

    def take(self, now: float) -> float:
        """Take a token at ``now`` (seconds on Redis's clock) if one is free: 0.0, else the
        seconds until one would be. A ``now`` older than the last caller's counts as that one's."""
        return float(self._script(keys=[self.key], args=[self.rate, self.burst, now]))

    def acquire(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            # Redis's clock is the shared one: TIME keeps every machine on the same bucket timeline.
            seconds, micros = self.client.time()
            wait = self.take(seconds + micros / 1e6)
            if wait == 0:
                return
            if time.monotonic() + wait > deadline:
                raise TemporaryError("rate limit: no capacity within the timeout", retry_after=wait)
            time.sleep(wait)


class LimiterRegistry:
    """One bucket per key for the whole app; Redis-backed when a Redis URL is configured."""

    def __init__(self, redis_url: str | None, namespace: str = "ats-hub"):
        self._namespace = namespace
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url)
        self._buckets: dict[str, object] = {}
        self._lock = threading.Lock()

    def get(self, key: str, rate: float, burst: int):
        """The bucket of ``key``, at the ``rate`` and ``burst`` asked for now: a caller asking with
        other values than before (a connection's limit changed in its settings) changes them for
        every later take, in this process (and, on Redis, the shared bucket's next takes)."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if self._redis is not None:
                    bucket = RedisBucket(self._redis, f"{self._namespace}:ratelimit:{key}", rate, burst)
                else:
                    bucket = LocalBucket(rate, burst)
                self._buckets[key] = bucket
            elif (bucket.rate, bucket.burst) != (float(rate), float(burst)):
                bucket.retune(rate, burst)
            return bucket
