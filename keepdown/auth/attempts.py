"""Failed attempts counted in a sliding window, per key: what the sign-in throttle reads.

A key names what is counted (a client address, a username as typed, a trusted device, a
session); :class:`AttemptCounter` keeps the times of its recent failures. Two kinds:

- :class:`MemoryAttempts`: this process only (the embedded default and tests; it reads the
  clock it is given, so tests move time). It holds at most ``max_keys`` keys, dropping the
  least recently failed first, so a flood of made-up names cannot grow it without bound.
- :class:`RedisAttempts`: one sorted set per key in Redis, shared by every replica (built
  when ``rate_limit_storage_url`` names a Redis, as the API's rate limits are). A Redis that
  does not answer is a :class:`~keepdown.errors.StorageError`: sign-in fails closed.

Keys are stored as a SHA-256 digest, never as typed: a person who types their password in
the name field must not find it in Redis or in memory dumps.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import OrderedDict, deque
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from keepdown.clock import Clock
from keepdown.errors import StorageError

__all__ = ["AttemptCounter", "MemoryAttempts", "RedisAttempts", "key_digest"]

#: Failures remembered per key: more than any limit needs (the counts stop there).
MAX_PER_KEY = 64


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]


class AttemptCounter(Protocol):
    """Failure times per key, within a window."""

    def add(self, key: str, window: timedelta) -> None:
        """Count one failure for ``key`` now."""
        ...

    def recent(self, key: str, window: timedelta) -> list[datetime]:
        """The failures of ``key`` within ``window`` before now, oldest first."""
        ...

    def clear(self, key: str) -> None: ...


class MemoryAttempts:
    """:class:`AttemptCounter` in this process (module docstring)."""

    def __init__(self, clock: Clock, *, max_keys: int = 100_000) -> None:
        self.clock = clock
        self.max_keys = max_keys
        self._times: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str, window: timedelta) -> None:
        digest, now = key_digest(key), self.clock.now()
        with self._lock:
            times = self._times.pop(digest, None) or deque(maxlen=MAX_PER_KEY)
            times.append(now)
            self._times[digest] = times  # most recently failed last
            while len(self._times) > self.max_keys:
                self._times.popitem(last=False)

    def recent(self, key: str, window: timedelta) -> list[datetime]:
        since = self.clock.now() - window
        with self._lock:
            times = self._times.get(key_digest(key))
            return [t for t in times if t > since] if times else []

    def clear(self, key: str) -> None:
        with self._lock:
            self._times.pop(key_digest(key), None)


class RedisAttempts:
    """:class:`AttemptCounter` in Redis (module docstring); ``client`` is a redis-py client."""

    def __init__(self, client: Any, clock: Clock, *, prefix: str = "keepdown-signin") -> None:
        self.client = client
        self.clock = clock
        self.prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{key_digest(key)}"

    def add(self, key: str, window: timedelta) -> None:
        now = self.clock.now().timestamp()
        name = self._key(key)
        pipe = self.client.pipeline()
        pipe.zadd(name, {uuid.uuid4().hex: now})
        pipe.zremrangebyscore(name, "-inf", now - window.total_seconds())
        pipe.zremrangebyrank(name, 0, -MAX_PER_KEY - 1)
        pipe.expire(name, max(1, int(window.total_seconds()) + 1))
        self._run(pipe.execute)

    def recent(self, key: str, window: timedelta) -> list[datetime]:
        since = self.clock.now().timestamp() - window.total_seconds()
        scores = self._run(
            lambda: self.client.zrangebyscore(self._key(key), f"({since}", "+inf", withscores=True)
        )
        return [datetime.fromtimestamp(score, UTC) for _, score in scores]

    def clear(self, key: str) -> None:
        self._run(lambda: self.client.delete(self._key(key)))

    @staticmethod
    def _run(call: Any) -> Any:
        import redis

        try:
            return call()
        except redis.RedisError as exc:
            raise StorageError(
                "the sign-in attempt counter (Redis) cannot be reached", backend="redis"
            ) from exc
