"""A real keepdown app (API + web pages) on SQLite, people of every role, an in-process client.

Passwords use cheap Argon2 costs here only (the production defaults cost ~0.1 s each).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from keepdown.app import Runtime, build_app
from keepdown.auth import Role
from keepdown.auth.passwords import Passwords
from keepdown.settings import load_settings
from keepdown.testing import FrozenClock, utc

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def web_settings(tmp_path: Path, **overrides: object):
    values = {
        "data_dir": str(tmp_path / "data"),
        "crawl_allowed_networks": "127.0.0.0/8,::1/128",
        "crawl_respect_robots": False,
        "crawl_max_retries": 0,
        "auth_cache_seconds": 0,
        "notice_worker_seconds": 0,
        "web_cookie_secure": False,
        "notice_links_on_loopback": True,
        "operator_organisation": "acme",  # the people of these tests do the operator's work
        **overrides,
    }
    return load_settings(environ={}, overrides=values)


def web_context_of(app: Any) -> Any:
    return next(r.app.state.web for r in app.routes if getattr(r, "name", "") == "web")


@dataclass
class Web:
    client: TestClient
    services: Runtime
    ctx: Any
    clock: FrozenClock
    users: dict[Role, str] = field(default_factory=dict)

    def csrf(self, html: str) -> str:
        found = CSRF.search(html)
        assert found, "no CSRF token on the page"
        return found.group(1)

    def sign_in(self, username: str, password: str = PASSWORD) -> Any:
        page = self.client.get("/web/login")
        return self.client.post(
            "/web/login",
            data={"username": username, "password": password, "csrf_token": self.csrf(page.text)},
            follow_redirects=False,
        )

    def sign_in_as(self, role: Role) -> None:
        self.client.cookies.clear()
        response = self.sign_in(self.users[role])
        assert response.status_code == 303, response.text

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a form with the CSRF token of the page at ``path``'s referring page (home)."""
        token = self.csrf(self.client.get("/web/account").text)
        return self.client.post(
            path, data={**(data or {}), "csrf_token": token}, follow_redirects=False, **kwargs
        )


def make_web(tmp_path: Path, **overrides: object) -> tuple[Any, Runtime, Any, FrozenClock]:
    clock = FrozenClock(utc(2026, 3, 2, 9))
    app, services = build_app(
        web_settings(tmp_path, **overrides), clock=clock, refresh_in_background=False
    )
    ctx = web_context_of(app)
    ctx.signin.passwords = Passwords(time_cost=1, memory_cost=1024)
    return app, services, ctx, clock


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    app, services, ctx, clock = make_web(tmp_path)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        found = Web(client=client, services=services, ctx=ctx, clock=clock)
        services.auth.ensure_organisation("acme")
        for role in Role:
            name = f"{role.value}-person"
            ctx.signin.add_user(
                name, PASSWORD, organisation="acme", role=role, senior=role is Role.ADMIN
            )
            found.users[role] = name
        yield found
