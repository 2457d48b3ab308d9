"""Per-key rate limits: in memory, in the real Redis at 127.0.0.1:6379, and with Redis down."""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from keepdown.api.ratelimit import RateLimiter
from keepdown.app import build_app
from keepdown.auth import Principal, Role
from keepdown.errors import ConfigurationError, RateLimited, StorageError
from tests.api.conftest import make_settings

REDIS = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on leaving: nothing listens there


def _principal(role: Role = Role.ANALYST) -> Principal:
    return Principal(key_id=uuid.uuid4().hex[:16], organisation="acme", role=role)


async def _hits(limiter: RateLimiter, who: Principal, n: int) -> int:
    """How many of ``n`` requests were admitted before the first refusal."""
    for admitted in range(n):
        try:
            await limiter.hit(who)
        except RateLimited:
            return admitted
    return n


def test_memory_limits_count_per_key_and_role() -> None:
    limiter = RateLimiter({Role.ANALYST: "3/minute", Role.PLATFORM: ""})
    first, second = _principal(), _principal()
    assert asyncio.run(_hits(limiter, first, 5)) == 3
    assert asyncio.run(_hits(limiter, second, 5)) == 3  # another key has its own count
    assert asyncio.run(_hits(limiter, _principal(Role.PLATFORM), 50)) == 50  # '' = unlimited


def test_over_the_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    app, services = build_app(
        make_settings(tmp_path, rate_limit_analyst="2/minute"), refresh_in_background=False
    )
    with TestClient(app) as client:
        services.auth.ensure_organisation("acme")
        token = services.auth.issue_key("acme", Role.ANALYST).token
        headers = {"Authorization": f"Bearer {token}"}
        statuses = [client.get("/api/v1/banks", headers=headers).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        refused = client.get("/api/v1/banks", headers=headers)
        assert refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 61


@pytest.mark.skipif(not _redis_up(), reason="no Redis at 127.0.0.1:6379")
def test_two_limiters_on_redis_share_their_counts() -> None:
    prefix = f"keepdown-test-{uuid.uuid4().hex[:8]}"
    one = RateLimiter({Role.ANALYST: "4/minute"}, REDIS, key_prefix=prefix)
    two = RateLimiter({Role.ANALYST: "4/minute"}, REDIS, key_prefix=prefix)
    who = _principal()

    async def run() -> list[bool]:
        admitted = []
        for limiter in (one, two, one, two, one, two):
            try:
                await limiter.hit(who)
                admitted.append(True)
            except RateLimited:
                admitted.append(False)
        return admitted

    # Replicas share one budget: 4 in all, whichever replica served them.
    assert asyncio.run(run()) == [True, True, True, True, False, False]


def test_unreachable_redis_is_a_clear_503_by_default(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    limiter = RateLimiter({Role.ANALYST: "4/minute"}, url, timeout_seconds=0.5)
    with pytest.raises(StorageError, match="rate-limit store cannot be reached"):
        asyncio.run(limiter.hit(_principal()))
    app, services = build_app(
        make_settings(tmp_path, rate_limit_storage_url=url), refresh_in_background=False
    )
    with TestClient(app) as client:
        services.auth.ensure_organisation("acme")
        token = services.auth.issue_key("acme", Role.ANALYST).token
        response = client.get("/api/v1/banks", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 503
        assert response.json()["code"] == "storage_error"
        assert "redis" not in response.text.lower()  # no driver error, no address


def test_unreachable_redis_fails_open_when_configured() -> None:
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    limiter = RateLimiter({Role.ANALYST: "1/minute"}, url, fail_open=True)
    assert asyncio.run(_hits(limiter, _principal(), 5)) == 5


def test_bad_limit_settings_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        RateLimiter({Role.ADMIN: "often"})
    with pytest.raises(ConfigurationError, match="memcached://"):
        RateLimiter({Role.ADMIN: "1/second"}, "memcached://secret@host")
