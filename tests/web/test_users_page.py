"""Admins manage people on /web/users: a new person's password is shown once and must be
changed; disabling ends their sessions; every change is audited."""

from __future__ import annotations

import re

from keepdown.auth import Role
from tests.web.conftest import Web


def test_admin_adds_resets_and_disables_a_person(web: Web) -> None:
    web.sign_in_as(Role.ADMIN)
    page = web.post("/web/users", {"username": "newbie", "organisation": "acme", "role": "analyst"})
    assert page.status_code == 200
    temporary = re.search(r'id="temporary-password">([^<]+)<', page.text).group(1)
    assert temporary not in web.client.get("/web/users").text  # shown once
    web.client.cookies.clear()
    assert web.sign_in("newbie", temporary).headers["location"] == "/web/account"
    web.sign_in_as(Role.ADMIN)
    assert web.post("/web/users/newbie/disable").status_code == 303
    assert web.sign_in("newbie", temporary).status_code == 401
    refused = web.post(f"/web/users/{web.users[Role.ADMIN]}/disable")
    assert refused.status_code == 409
    actions = {r.action for r in web.services.auth.audit_log.list_records(limit=50)}
    assert {"user.add", "user.disable"} <= actions
