"""The web walked by a fuzzer (issue 16, standing check; item 8 was found this way).

Hypothesis picks a page route (read from keepdown.web, so a page added later is fuzzed too)
and draws a value for each of its path, query and form parameters: integers far outside 64
bits and just past 32, negative numbers, Unicode digits, empty and odd text. Signed in as an
admin of the operator organisation (every page open to it), on SQLite and on PostgreSQL
(where ids are 32- or 64-bit columns), no answer may be a 5xx. A second test checks that every
integer a page takes from its address is bounded, so the driver never sees an overflow.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepdown.auth import Role
from keepdown.web import web_routes
from tests.web.conftest import PASSWORD, Web, make_web

ROUTES = sorted(
    (
        (method, route)
        for route in web_routes()
        for method in route.methods
        if route.path != "/logout"
    ),
    key=lambda op: (op[1].path, op[0]),
)

_ODD_TEXT = [
    "",
    "0",
    "-1",
    str(2**31),
    str(2**63),
    str(2**64 + 1),
    "-" + str(2**63 + 1),
    "9" * 40,
    "٣",
    "３",
    "1e9",
    "NaN",
    "../../etc/passwd",
    "%00",
    "a" * 300,
    "<script>",
    "known",
]
_VALUES = st.one_of(
    st.sampled_from(_ODD_TEXT),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=40),
)


def _params(route: Any) -> dict[str, list[str]]:
    d = route.dependant
    return {
        "path": [p.alias for p in d.path_params],
        "query": [p.alias for p in d.query_params],
        "form": [p.alias for p in d.body_params if type(p.field_info).__name__ == "Form"],
    }


@pytest.fixture
def admin_web(tmp_path: Path, database_url: str) -> Iterator[Web]:
    app, services, ctx, clock = make_web(tmp_path, database_url=database_url)
    with TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False) as c:
        web = Web(client=c, services=services, ctx=ctx, clock=clock)
        services.auth.ensure_organisation("acme")
        ctx.signin.add_user("fuzz-admin", PASSWORD, organisation="acme", role=Role.ADMIN)
        services.banks.create_bank("known", owner="acme")
        web.users[Role.ADMIN] = "fuzz-admin"
        web.sign_in_as(Role.ADMIN)
        yield web


def _token(web: Web) -> str:
    page = web.client.get("/web/account")
    if page.status_code != 200:  # a fuzzed form ended the session (five wrong passwords)
        web.sign_in_as(Role.ADMIN)
        page = web.client.get("/web/account")
    return web.csrf(page.text)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_page_answers_a_5xx_whatever_its_parameters(admin_web: Web, data: Any) -> None:
    method, route = data.draw(st.sampled_from(ROUTES), label="route")
    names = _params(route)
    path = route.path
    for name in names["path"]:
        value = data.draw(_VALUES.filter(lambda v: v.strip(".") != ""), label=name)
        path = path.replace("{" + name + "}", quote(value, safe=""))
    query = {n: data.draw(_VALUES, label=n) for n in names["query"] if data.draw(st.booleans())}
    form = {n: data.draw(_VALUES, label=n) for n in names["form"] if data.draw(st.booleans())}
    token = _token(admin_web)
    response = admin_web.client.request(
        method,
        "/web" + path,
        params=query,
        data={**form, "csrf_token": token} if method == "POST" else None,
        headers={"X-CSRF-Token": token},
        follow_redirects=False,
    )
    assert response.status_code < 500, (method, path, query, form, response.text[:300])


def test_every_integer_in_a_page_address_is_bounded() -> None:
    """An unbounded int parameter reaches the database driver as an overflow (a 500)."""
    unbounded = []
    for _, route in ROUTES:
        d = route.dependant
        for param in [*d.path_params, *d.query_params]:
            if param.field_info.annotation is not int:
                continue
            limits = {type(m).__name__ for m in param.field_info.metadata}
            if not {"Le", "Lt"} & limits:
                unbounded.append((route.path, param.alias))
    # audit's limit is clamped in the page (min/max) before it reaches a query
    assert set(unbounded) <= {("/audit", "limit")}, unbounded
