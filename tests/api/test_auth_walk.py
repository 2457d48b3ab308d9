"""Every endpoint in the OpenAPI document refuses every kind of bad key, and wrong roles.

The walk reads the spec (``app.openapi()``), so an endpoint added later is covered without
touching this file: it must either declare its roles with ``requires(...)`` or be one of the
documented public endpoints.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.routing import APIRoute

from keepdown.api import api_routes, route_roles
from keepdown.auth import ApiKey, Role
from keepdown.auth import keys as key_tokens
from tests.api.conftest import Api

PUBLIC = {
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/ready"),
    ("GET", "/metrics"),
    ("POST", "/api/v1/reports/public"),  # the public web form: rate-limited per client IP
    ("POST", "/api/v1/reports/public/status"),  # needs the report's receipt
}
_SAMPLE_PATH_VALUES = {"name": "known", "signal_type": "md5", "value": "0" * 32, "key_id": "x"}


def operations(api: Api) -> list[tuple[str, str, APIRoute]]:
    routes = {
        (method, route.path_format): route for route in api_routes() for method in route.methods
    }
    spec = api.client.app.openapi()
    found = []
    for path, item in spec["paths"].items():
        for method in item:
            found.append((method.upper(), path, routes[(method.upper(), path)]))
    return found


def call(api: Api, method: str, path: str, headers: dict[str, str]):
    url = path.format(**_SAMPLE_PATH_VALUES)
    return api.client.request(method, url, headers=headers)


def special_keys(api: Api) -> dict[str, str]:
    """A wrong, an expired and a revoked key (all of the admin role, which can do most)."""
    auth = api.services.auth
    now = auth.clock.now()
    expired = key_tokens.new_token()
    auth.store.add_key(
        ApiKey(
            key_id=expired.key_id,
            organisation="acme",
            role=Role.ADMIN,
            secret_sha256=key_tokens.digest(expired),
            created_at=now - timedelta(days=2),
            expires_at=now - timedelta(days=1),
        )
    )
    revoked = auth.issue_key("acme", Role.ADMIN)
    auth.revoke_key(revoked.key.key_id)
    wrong = api.tokens[Role.ADMIN][:-4] + "AAAA"
    return {"wrong": wrong, "expired": str(expired), "revoked": revoked.token}


def test_every_endpoint_declares_roles_or_is_public(api: Api) -> None:
    ops = operations(api)
    assert len(ops) >= 25
    public = {(m, p) for m, p, route in ops if route_roles(route) is None}
    assert public == PUBLIC
    spec = api.client.app.openapi()
    for method, path, route in ops:
        documented = spec["paths"][path][method.lower()]["x-roles"]
        roles = route_roles(route)
        assert documented == (sorted(r.value for r in roles) if roles else ["public"])


def test_every_protected_endpoint_refuses_bad_keys_and_wrong_roles(api: Api) -> None:
    bad = special_keys(api)
    checked = 0
    for method, path, route in operations(api):
        roles = route_roles(route)
        if roles is None:
            continue
        attempts = {"missing": {}} | {
            kind: {"Authorization": f"Bearer {token}"} for kind, token in bad.items()
        }
        attempts["garbage"] = {"Authorization": "Basic bm90LWEta2V5"}
        for kind, headers in attempts.items():
            response = call(api, method, path, headers)
            assert response.status_code == 401, (method, path, kind, response.text)
            assert response.json()["code"] == "unauthenticated"
            assert "WWW-Authenticate" in response.headers
        for role in Role:
            response = call(api, method, path, api.auth(role))
            if role in roles:
                assert response.status_code not in (401, 403), (method, path, role, response.text)
            else:
                assert response.status_code == 403, (method, path, role, response.text)
                assert response.json()["code"] == "forbidden"
        checked += 1
    assert checked >= 22


@pytest.mark.parametrize(("method", "path"), sorted(PUBLIC))
def test_public_endpoints_need_no_key(api: Api, method: str, path: str) -> None:
    response = api.client.request(method, path)
    # A public POST without its body is refused as bad input (400), never for want of a key.
    assert response.status_code == (200 if method == "GET" else 400), response.text


def test_platform_role_only_hashes_and_matches(api: Api) -> None:
    allowed = {
        (m, p)
        for m, p, route in operations(api)
        if route_roles(route) and Role.PLATFORM in route_roles(route)
    }
    assert all(
        p.startswith(("/api/v1/hash", "/api/v1/match", "/v1/", "/h/", "/m/")) for _, p in allowed
    )
