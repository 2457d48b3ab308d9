"""Organisations kept apart on the web pages, as in the API (keepdown.auth.scope): the
operator organisation's admins see everything; a second organisation's admin sees and manages
only its own keys, people, banks and audit records; its analysts read its banks and the banks
shared with it. What a person may not see answers 404."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from keepdown.auth import Role
from tests.web.conftest import PASSWORD, Web, make_web

OPERATOR, PARTNER = "hotline", "partner"
#: bank -> owner; "hotline-shared" is shared with the partner.
BANKS = {"hotline-own": OPERATOR, "partner-own": PARTNER, "hotline-shared": OPERATOR}


@pytest.fixture
def two(tmp_path: Path) -> Iterator[tuple[Web, dict[str, str]]]:
    """The operator and a partner organisation, an admin and an analyst each, a key each."""
    app, services, ctx, clock = make_web(tmp_path, operator_organisation=OPERATOR)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        web = Web(client=client, services=services, ctx=ctx, clock=clock)
        keys = {}
        for org in (OPERATOR, PARTNER):
            services.auth.ensure_organisation(org)
            for role in (Role.ADMIN, Role.ANALYST):
                ctx.signin.add_user(f"{org}-{role.value}", PASSWORD, organisation=org, role=role)
            issued = services.auth.issue_key(org, Role.PLATFORM, expires_in=timedelta(days=1))
            keys[org] = issued.key.key_id
        for bank, owner in BANKS.items():
            services.banks.create_bank(bank, owner=owner)
        services.auth.share_bank("hotline-shared", PARTNER)
        yield web, keys


def _as(web: Web, username: str) -> None:
    web.client.cookies.clear()
    assert web.sign_in(username).status_code == 303


def _listed_banks(web: Web) -> set[str]:
    page = web.client.get("/web/banks").text
    return {name for name in BANKS if f"/web/banks/{name}" in page}


def test_a_partner_admin_sees_and_manages_only_its_own_keys(two) -> None:
    web, keys = two
    _as(web, "partner-admin")
    page = web.client.get("/web/keys").text
    assert keys[PARTNER] in page
    assert keys[OPERATOR] not in page
    (offered,) = re.findall(r'name="organisation" required>(.*?)</select>', page)
    assert re.findall(r"<option>([^<]*)</option>", offered) == ["partner"]  # after "Choose…"

    refused = web.post("/web/keys", {"organisation": OPERATOR, "role": "admin"})
    assert refused.status_code == 403
    assert "kd_" not in refused.text  # no token made
    made = web.post("/web/keys", {"organisation": PARTNER, "role": "platform"})
    assert made.status_code == 200
    assert 'id="issued-token">kd_' in made.text

    assert web.post(f"/web/keys/{keys[OPERATOR]}/revoke").status_code == 404
    assert not web.services.auth.store.get_key(keys[OPERATOR]).revoked
    assert web.post(f"/web/keys/{keys[PARTNER]}/revoke").status_code == 303
    assert web.services.auth.store.get_key(keys[PARTNER]).revoked


def test_a_partner_admin_sees_and_manages_only_its_own_people(two) -> None:
    web, _ = two
    _as(web, "partner-admin")
    page = web.client.get("/web/users").text
    assert "partner-analyst" in page
    assert "hotline-analyst" not in page
    added = web.post("/web/users", {"username": "mole", "organisation": OPERATOR, "role": "admin"})
    assert added.status_code == 403
    with pytest.raises(Exception, match="no user"):
        web.ctx.signin.store.get_user("mole")
    assert web.post("/web/users/hotline-admin/reset").status_code == 404
    assert web.post("/web/users/hotline-admin/disable").status_code == 404
    assert not web.ctx.signin.store.get_user("hotline-admin").disabled
    assert web.post("/web/users/partner-analyst/disable").status_code == 303


def test_a_partner_admin_reads_only_its_own_audit_records(two) -> None:
    web, keys = two
    _as(web, "hotline-admin")
    web.post(f"/web/keys/{keys[OPERATOR]}/revoke")  # an operator action
    _as(web, "partner-admin")
    web.post(f"/web/keys/{keys[PARTNER]}/revoke")
    page = web.client.get("/web/audit").text
    assert keys[PARTNER] in page
    assert keys[OPERATOR] not in page
    _as(web, "hotline-admin")
    page = web.client.get("/web/audit").text
    assert keys[PARTNER] in page
    assert keys[OPERATOR] in page


def test_banks_are_read_by_owner_and_share_and_changed_by_owner_only(two) -> None:
    web, _ = two
    _as(web, "partner-analyst")
    assert _listed_banks(web) == {"partner-own", "hotline-shared"}
    assert web.client.get("/web/banks/hotline-shared").status_code == 200
    assert web.client.get("/web/banks/hotline-own").status_code == 404

    _as(web, "partner-admin")
    assert _listed_banks(web) == {"partner-own", "hotline-shared"}
    assert web.client.get("/web/banks/hotline-own/export").status_code == 404
    assert web.client.get("/web/banks/hotline-shared/export").status_code == 403  # shared only
    assert web.client.get("/web/banks/partner-own/export").status_code == 200
    files = {"file": ("md5.txt", b"0" * 32 + b"\n", "text/plain")}
    token = web.csrf(web.client.get("/web/account").text)
    upload = web.client.post(
        "/web/banks/hotline-shared/import",
        data={"csrf_token": token, "format": ""},
        files=files,
        follow_redirects=False,
    )
    assert upload.status_code == 403
    assert web.services.banks.show_bank("hotline-shared").active == 0

    _as(web, "hotline-analyst")
    assert _listed_banks(web) == set(BANKS)  # the operator organisation reads every bank


def test_refused_and_allowed_actions_are_recorded_write_ahead(two) -> None:
    web, keys = two
    _as(web, "partner-admin")
    web.post("/web/keys", {"organisation": OPERATOR, "role": "admin"})
    web.post(f"/web/keys/{keys[PARTNER]}/revoke")
    log = web.services.auth.audit_log
    created = [(r.outcome, r.details.get("error")) for r in log.list_records(action="key.create")]
    assert created == [("refused", "forbidden")]
    (revoked,) = log.list_records(action="key.revoke")
    assert (revoked.outcome, revoked.target, revoked.organisation) == ("ok", keys[PARTNER], PARTNER)


CASE_WORK_PAGES = (
    "/web/review",
    "/web/sightings",
    "/web/notices",
    "/web/reports",
    "/web/providers",
    "/web/allow-list",
    "/web/indicators",
    "/web/indicators/export",
    "/web/indicators/export?format=csv",
)


def test_case_work_pages_are_the_operators_only(two) -> None:
    """The review queue, sightings, notices, reported URLs, providers, the allow-list and the
    financial indicators (pages and TLP:AMBER export):
    refused (403) to the partner's admin and analyst, open to the operator's analyst; the
    partner's home page shows no queue count."""
    web, _ = two
    for person in ("partner-admin", "partner-analyst"):
        _as(web, person)
        for path in CASE_WORK_PAGES:
            assert web.client.get(path).status_code == 403, (person, path)
        assert "wait for review" not in web.client.get("/web/").text
    _as(web, "hotline-analyst")
    for path in CASE_WORK_PAGES:
        assert web.client.get(path).status_code == 200, path
