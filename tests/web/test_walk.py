"""Every web route declares its roles (or is one of the few public pages), and holds to them.

The walk reads the routes from keepdown.web (like tests/api/test_auth_walk.py reads the
OpenAPI spec), so a page added later is covered without touching this file.
"""

from __future__ import annotations

import pytest

from keepdown.auth import Role
from keepdown.web import route_roles as web_route_roles
from keepdown.web import web_routes
from tests.web.conftest import Web

PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/language"),
    ("GET", "/report"),
    ("POST", "/report"),
    ("GET", "/transparency"),
    ("GET", "/blocked"),
    ("GET", "/blocked/appeal"),
    ("POST", "/blocked/appeal"),
    # the self-submission page and its endpoint (hashes only; CSRF token, per-client limit)
    ("GET", "/self-submission"),
    ("POST", "/self-submission/api/send"),
    ("POST", "/self-submission/api/case"),
    ("POST", "/self-submission/api/withdraw"),
}
_SAMPLE = {
    "sighting_id": "1",
    "reference": "KD-NONE",
    "location_id": "1",
    "delivery_id": "1",
    "name": "no-such-bank",
    "key_id": "0000000000000000",
    "entry_id": "1",
    "username": "nobody",
    "action": "unlock",
}


def operations() -> list[tuple[str, str, object]]:
    return sorted(
        ((method, route.path, route) for route in web_routes() for method in route.methods),
        key=lambda op: (op[1], op[0]),
    )


def test_every_route_declares_roles_or_is_public() -> None:
    ops = operations()
    assert len(ops) >= 40
    public = {(m, p) for m, p, route in ops if getattr(_roles(route), "__len__", None) is None}
    assert public == PUBLIC


def _roles(route: object) -> frozenset[Role] | None:
    return web_route_roles(route)  # type: ignore[arg-type]


def _call(web: Web, method: str, path: str, token: str = ""):
    url = "/web" + path.format(**_SAMPLE)
    headers = {"X-CSRF-Token": token} if token else {}
    return web.client.request(method, url, headers=headers, follow_redirects=False)


def test_signed_out_people_are_sent_to_sign_in(web: Web) -> None:
    for method, path, route in operations():
        if _roles(route) is None:
            continue
        response = _call(web, method, path)
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].startswith("/web/login"), (method, path)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_its_pages_and_no_other(web: Web, role: Role) -> None:
    web.sign_in_as(role)
    token = web.csrf(web.client.get("/web/account").text)
    checked = 0
    for method, path, route in operations():
        roles = _roles(route)
        if roles is None or path == "/logout":
            continue
        response = _call(web, method, path, token)
        if role in roles:
            assert response.status_code not in (401, 403), (role, method, path, response.text[:300])
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)
        checked += 1
    assert checked >= 35


def test_only_staff_reach_the_review_queue_and_media() -> None:
    staff = {Role.ADMIN, Role.ANALYST}
    for method, path, route in operations():
        if path.startswith(("/review", "/sightings", "/banks", "/allow-list")):
            assert _roles(route) is not None
            assert set(_roles(route)) <= staff, (method, path)
    admin_only = {p for m, p, r in operations() if _roles(r) == frozenset({Role.ADMIN})}
    assert {"/audit", "/keys", "/keys/{key_id}/revoke", "/banks/{name}/export"} <= admin_only
