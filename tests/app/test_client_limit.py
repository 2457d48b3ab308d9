"""One limit per client address for what anyone may do without a key: the public report
endpoint and the public web form count together (in memory, or in Redis across replicas),
and the forwarded address is believed from ``trusted_proxies`` only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from keepdown.app import build_app
from keepdown.errors import ConfigurationError
from tests.web.conftest import CSRF, web_settings

LIMIT = "3/minute"


def _app(tmp_path: Path, **overrides: Any) -> Any:
    settings = web_settings(tmp_path, public_report_rate_limit=LIMIT, **overrides)
    return build_app(settings, refresh_in_background=False)[0]


def _api(client: TestClient, n: int, headers: dict[str, str] | None = None) -> int:
    url = {"url": f"http://example.org/api/{n}"}
    return client.post("/api/v1/reports/public", json=url, headers=headers).status_code


def _form(client: TestClient, n: int, headers: dict[str, str] | None = None) -> int:
    token = CSRF.search(client.get("/web/report").text).group(1)
    data = {"url": f"http://example.org/form/{n}", "csrf_token": token}
    return client.post("/web/report", data=data, headers=headers).status_code


def test_the_endpoint_and_the_form_share_one_count_per_address(tmp_path: Path) -> None:
    with TestClient(_app(tmp_path), base_url="http://127.0.0.1:8000") as client:
        assert [_api(client, 1), _form(client, 2), _api(client, 3)] == [201, 200, 201]
        assert _form(client, 4) == 429  # the form's fourth report: over, whichever came first
        assert _api(client, 5) == 429
        token = CSRF.search(client.get("/web/report").text).group(1)
        over = {"url": "http://example.org/6", "csrf_token": token}
        assert "too many reports from this address" in client.post("/web/report", data=over).text


def _as_proxy(app: Any, peer: str) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1:8000", client=(peer, 40000))


def test_forwarded_addresses_are_believed_from_trusted_proxies_only(tmp_path: Path) -> None:
    first = {"X-Forwarded-For": "198.51.100.7"}
    second = {"X-Forwarded-For": "198.51.100.8, 10.0.0.9"}  # through two trusted proxies
    trusted = _app(tmp_path / "t", trusted_proxies="10.0.0.0/8")
    with _as_proxy(trusted, "10.0.0.2") as proxy:
        assert [_api(proxy, n, first) for n in range(4)] == [201, 201, 201, 429]
        assert [_api(proxy, n, second) for n in range(3)] == [201, 201, 201]  # its own count
    with _as_proxy(trusted, "203.0.113.5") as stranger:  # not a proxy: its header is ignored
        spoofed = [{"X-Forwarded-For": f"192.0.2.{n}"} for n in range(4)]
        assert [_api(stranger, n, h) for n, h in enumerate(spoofed)] == [201, 201, 201, 429]

    untrusted = _app(tmp_path / "u")  # the default: no proxy is trusted
    with _as_proxy(untrusted, "10.0.0.2") as proxy:
        heads = [first, second, first, second]
        assert [_api(proxy, n, h) for n, h in enumerate(heads)] == [201, 201, 201, 429]


def test_the_audit_log_records_the_forwarded_address(tmp_path: Path) -> None:
    app, services = build_app(
        web_settings(tmp_path, trusted_proxies="10.0.0.0/8"), refresh_in_background=False
    )
    with _as_proxy(app, "10.0.0.2") as proxy:
        token = CSRF.search(proxy.get("/web/login").text).group(1)
        form = {"username": "nobody", "password": "x" * 12, "csrf_token": token}
        proxy.post("/web/login", data=form, headers={"X-Forwarded-For": "198.51.100.7"})
    (refused,) = services.auth.audit_log.list_records(action="web.sign_in")
    assert refused.client_ip == "198.51.100.7"


def test_a_trusted_proxy_that_is_not_a_network_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="trusted_proxies"):
        _app(tmp_path, trusted_proxies="proxy.internal")


def test_replicas_share_the_count_through_redis(tmp_path: Path) -> None:
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    store = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        store.ping()
    except redis.RedisError:
        pytest.skip("Redis not reachable at 127.0.0.1:6379")
    peer = f"192.0.2.{tmp_path.stat().st_ino % 250 + 1}"  # an address of this test run

    def forget() -> None:
        for key in store.scan_iter(match=f"*keepdown-public-report*{peer}*"):
            store.delete(key)

    forget()
    try:
        a = _app(tmp_path / "a", rate_limit_storage_url=url)
        b = _app(tmp_path / "b", rate_limit_storage_url=url)
        with _as_proxy(a, peer) as on_a, _as_proxy(b, peer) as on_b:
            codes = [_form(on_a, 1), _api(on_b, 2), _form(on_b, 3), _api(on_a, 4)]
        assert codes == [200, 201, 200, 429]
    finally:
        forget()
        store.close()
