"""Every web route declares its roles (or is one of the few public pages), and holds to them,
for every role and for the operator's and another organisation's people (issue 16: the web is
walked like the API).

The walk reads the routes from keepdown.web (like tests/api/test_auth_walk.py reads the
OpenAPI spec), so a page added later is covered without touching this file.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from keepdown.auth import Role
from keepdown.web import route_case_work as web_route_case_work
from keepdown.web import route_roles as web_route_roles
from keepdown.web import web_routes
from tests.web.conftest import PASSWORD, Web, make_web

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


OPERATOR, PARTNER = "acme", "partner"  # acme is the operator organisation in these tests


@pytest.fixture
def two(tmp_path) -> Iterator[tuple[Web, dict[str, str]]]:
    """The operator and a partner organisation, an admin and an analyst each; the samples
    name the operator's bank, key and person."""
    app, services, ctx, clock = make_web(tmp_path)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        web = Web(client=client, services=services, ctx=ctx, clock=clock)
        for org in (OPERATOR, PARTNER):
            services.auth.ensure_organisation(org)
            for role in (Role.ADMIN, Role.ANALYST):
                ctx.signin.add_user(f"{org}-{role.value}", PASSWORD, organisation=org, role=role)
        services.banks.create_bank("acme-bank", owner=OPERATOR)
        key = services.auth.issue_key(OPERATOR, Role.PLATFORM, expires_in=timedelta(days=1))
        yield (
            web,
            {**_SAMPLE, "name": "acme-bank", "key_id": key.key.key_id, "username": "acme-analyst"},
        )


#: Pages naming a thing of one organisation: another organisation is told it does not exist.
_SCOPED = ("/banks/{name}", "/keys/{key_id}", "/users/{username}")
#: Complete forms, so a refusal is not hidden behind a 400 for a missing field.
_FORMS: dict[str, dict[str, Any]] = {
    "/banks/{name}/entries/remove": {
        "data": {"signal_type": "md5", "value": "0" * 32, "reason": "other"}
    },
    "/banks/{name}/import": {
        "data": {"format": ""},
        "files": {"file": ("md5.txt", b"0" * 32 + b"\n", "text/plain")},
    },
}


@pytest.mark.parametrize("person", ["partner-admin", "partner-analyst"])
def test_another_organisation_reaches_no_case_work_and_nothing_of_the_operators(
    two, person: str
) -> None:
    """Every page, as each person of a partner organisation: a role it lacks or case work
    answers 403, the operator's bank, key or person 404, anything else neither (nor a 5xx)."""
    web, sample = two
    web.client.cookies.clear()
    assert web.sign_in(person).status_code == 303
    role = Role(person.split("-", 1)[1])
    token = web.csrf(web.client.get("/web/account").text)
    seen: dict[int, int] = {}
    for method, path, route in operations():
        roles = _roles(route)
        if roles is None or path == "/logout":
            continue
        url = "/web" + path.format(**sample)
        form = _FORMS.get(path, {}) if method == "POST" else {}
        response = web.client.request(
            method,
            url,
            headers={"X-CSRF-Token": token},
            follow_redirects=False,
            data=form.get("data"),
            files=form.get("files"),
        )
        status = response.status_code
        if role not in roles or web_route_case_work(route):  # type: ignore[arg-type]
            expected = {403}
        elif path.startswith(_SCOPED):
            expected = {404}
        else:
            expected = set(range(200, 500)) - {401, 403, 404}
        assert status in expected, (person, method, path, status, response.text[:200])
        seen[status] = seen.get(status, 0) + 1
    assert seen.get(403, 0) >= 20
    assert seen.get(404, 0) >= 3 if role is Role.ADMIN else seen.get(404, 0) >= 1
