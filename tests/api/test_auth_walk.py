"""Every endpoint in the OpenAPI document refuses every kind of bad key, and wrong roles.

The walk reads the spec (``app.openapi()``), so an endpoint added later is covered without
touching this file: it must either declare its roles with ``requires(...)``, be one of the
documented public endpoints, or be authenticated by a notice's signed link (documented as
``x-roles: ["signed-link"]``). Keys are tried as Bearer and in both HTTP Basic forms (as
C3P's Shield clients send them). A last walk checks organisation scoping: an admin and an
analyst of another organisation never reach the operator organisation's banks or keys.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute

from keepdown.api import api_routes, route_roles
from keepdown.auth import ApiKey, Role
from keepdown.auth import keys as key_tokens
from tests.api.conftest import Api, seed_known_bank

PUBLIC = {
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/ready"),
    ("GET", "/metrics"),
    ("POST", "/api/v1/reports/public"),  # the public web form: rate-limited per client IP
    ("POST", "/api/v1/reports/public/status"),  # needs the report's receipt
    # the event chain's evidence, for anyone to keep (rate-limited per client IP)
    ("GET", "/api/v1/evidence/key"),
    ("GET", "/api/v1/evidence/checkpoints"),
    ("GET", "/api/v1/evidence/checkpoints/latest"),
    ("GET", "/api/v1/evidence/leaves"),
}
_SAMPLE_PATH_VALUES = {
    "name": "known",
    "signal_type": "md5",
    "value": "0" * 32,
    "key_id": "x",
    "organisation": "acme",
    "hold_id": "1",
    "request_id": "1",
    "item_id": "1",
    "reference": "KD-20260101-00000000",
    "part": "ncmec",
    "action": "approve",
    "sighting_id": "1",
    "domain": "dedicated.test",
    "appeal_id": "1",
    "entry_id": "1",
}
#: Paths that name one organisation's bank, key or organisation (the scoping walk).
_SCOPED = ("/api/v1/banks/{name}", "/api/v1/keys/{key_id}")


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


def signed_link(api: Api, method: str, path: str) -> bool:
    return api.client.app.openapi()["paths"][path][method.lower()].get("x-auth") == "signed-link"


def call(api: Api, method: str, path: str, headers: dict[str, str], **values: str):
    url = path.format(**{**_SAMPLE_PATH_VALUES, **values})
    body = {"json": {}} if method == "PATCH" else {}  # a valid (empty) change
    return api.client.request(method, url, headers=headers, **body)


def _basic(username: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


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


def bad_credentials(api: Api) -> dict[str, dict[str, str]]:
    """Every refused way of sending a key: none, Bearer and both Basic forms of bad keys."""
    attempts: dict[str, dict[str, str]] = {"missing": {}}
    for kind, token in special_keys(api).items():
        key_id, secret = token[3:].split("_", 1)
        attempts[f"bearer {kind}"] = {"Authorization": f"Bearer {token}"}
        attempts[f"basic id:secret {kind}"] = _basic(key_id, secret)
        attempts[f"basic whole key {kind}"] = _basic("anyone", token)
    attempts["basic not base64"] = {"Authorization": "Basic ***"}
    attempts["basic no colon"] = {"Authorization": "Basic bm90LWEta2V5"}
    attempts["basic not a key"] = _basic("someone", "password123")
    attempts["unknown scheme"] = {"Authorization": "Token abc"}
    return attempts


def test_every_endpoint_declares_roles_or_is_public(api: Api) -> None:
    ops = operations(api)
    assert len(ops) >= 25
    public = {
        (m, p) for m, p, route in ops if route_roles(route) is None and not signed_link(api, m, p)
    }
    assert public == PUBLIC
    spec = api.client.app.openapi()
    for method, path, route in ops:
        operation = spec["paths"][path][method.lower()]
        roles = route_roles(route)
        if signed_link(api, method, path):
            assert not roles, (method, path)
            assert operation["x-roles"] == ["signed-link"], (method, path)
            assert {"bearerKey": []} not in operation.get("security", [])
        elif roles is None:
            assert operation["x-roles"] == ["public"]
        else:
            assert operation["x-roles"] == sorted(r.value for r in roles)
            assert operation["security"] == [{"bearerKey": []}, {"basicKey": []}]
            assert "503" in operation["responses"], (method, path)


def test_every_protected_endpoint_refuses_bad_keys_and_wrong_roles(api: Api) -> None:
    attempts = bad_credentials(api)
    checked = 0
    for method, path, route in operations(api):
        roles = route_roles(route)
        if roles is None:
            continue
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
    assert checked >= 30


def test_refusals_on_privileged_endpoints_are_audited(api: Api) -> None:
    api.client.get("/api/v1/keys", headers={"Authorization": "Bearer kd_0000000000000000_x"})
    api.client.get("/api/v1/audit", headers=api.auth(Role.PLATFORM))
    api.client.post("/api/v1/match/hashes", json={"hashes": []})  # hot path: metrics only
    refused = api.services.auth.audit_log.list_records(action="auth.refused")
    assert [(r.target, r.outcome, r.details["error"]) for r in refused] == [
        ("GET /api/v1/audit", "refused", "forbidden"),
        ("GET /api/v1/keys", "refused", "unauthenticated"),
    ]
    assert refused[0].actor == api.services.auth.authenticate(api.tokens[Role.PLATFORM]).key_id
    assert refused[1].actor == "0000000000000000"
    metrics = api.client.get("/metrics").text
    assert 'keepdown_api_refusals_total{code="unauthenticated"} 2.0' in metrics


@pytest.mark.parametrize(("method", "path"), sorted(PUBLIC))
def test_public_endpoints_need_no_key(api: Api, method: str, path: str) -> None:
    assert api.client.request(method, path).status_code not in (401, 403)


def test_platform_role_only_hashes_and_matches(api: Api) -> None:
    """...and files its own organisation's records (keepdown.api.filings: its profile, its
    CyberTipline reports, its statements of reasons), which show nothing of any bank."""
    allowed = {
        (m, p)
        for m, p, route in operations(api)
        if route_roles(route) and Role.PLATFORM in route_roles(route)
    }
    # besides hashing and matching: its own held uploads and removal requests (scoped)
    own = ("/api/v1/holds/{hold_id}", "/api/v1/removal-requests")
    assert all(
        p.startswith(
            (
                "/api/v1/hash",
                "/api/v1/match",
                "/v1/",
                "/h/",
                "/m/",
                "/api/v1/filings/platform/",
                *own,
            )
        )
        for _, p in allowed
    )


def test_other_organisations_never_reach_the_operators_banks_or_keys(api: Api) -> None:
    """Every bank and key route, called by another organisation's admin and analyst on the
    operator organisation's bank and key, answers 403 or 404 and changes nothing."""
    seed_known_bank(api.services)
    auth = api.services.auth
    auth.ensure_organisation("other")
    outsiders = {
        role: {"Authorization": f"Bearer {auth.issue_key('other', role).token}"}
        for role in (Role.ADMIN, Role.ANALYST)
    }
    acme_key = auth.issue_key("acme", Role.PLATFORM).key.key_id
    walked = 0
    for method, path, route in operations(api):
        roles = route_roles(route) or frozenset()
        if not path.startswith(_SCOPED):
            continue
        for role, headers in outsiders.items():
            if role not in roles:
                continue
            response = call(api, method, path, headers, key_id=acme_key, organisation="other")
            assert response.status_code in (403, 404), (method, path, role, response.text)
            walked += 1
    assert walked >= 12
    assert not auth.store.get_key(acme_key).revoked
    assert auth.bank_shares("known") == []
    admin = api.auth(Role.ADMIN)
    assert api.client.get("/api/v1/banks/known", headers=admin).json()["active_entries"] == 2
