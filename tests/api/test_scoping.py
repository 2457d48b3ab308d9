"""Organisations kept apart: the operator administers everything, others only their own.

``acme`` is the operator organisation in these tests (``operator_organisation``); ``other``
is a member organisation with its own admin and analyst.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from keepdown.auth import Role
from tests.api.conftest import Api, seed_known_bank


@dataclass
class Other:
    admin: dict[str, str]
    analyst: dict[str, str]


@pytest.fixture
def other(api: Api) -> Other:
    auth = api.services.auth
    auth.ensure_organisation("other")
    seed_known_bank(api.services)  # "known", owned by acme

    def bearer(role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {auth.issue_key('other', role).token}"}

    return Other(bearer(Role.ADMIN), bearer(Role.ANALYST))


def test_only_the_operator_creates_organisations_and_sees_them_all(api: Api, other) -> None:
    refused = api.client.post("/api/v1/organisations", json={"name": "x"}, headers=other.admin)
    assert refused.status_code == 403
    mine = api.client.get("/api/v1/organisations", headers=other.admin).json()
    assert [o["name"] for o in mine["organisations"]] == ["other"]
    everyone = api.client.get("/api/v1/organisations", headers=api.auth(Role.ADMIN)).json()
    assert {o["name"] for o in everyone["organisations"]} == {"acme", "other"}


def test_a_member_admin_manages_only_its_own_keys(api: Api, other) -> None:
    for_acme = api.client.post(
        "/api/v1/keys", json={"organisation": "acme", "role": "admin"}, headers=other.admin
    )
    assert for_acme.status_code == 403
    own = api.client.post(
        "/api/v1/keys", json={"organisation": "other", "role": "platform"}, headers=other.admin
    )
    assert own.status_code == 201, own.text
    listed = api.client.get("/api/v1/keys", headers=other.admin).json()["keys"]
    assert {k["organisation"] for k in listed} == {"other"}
    asked = api.client.get("/api/v1/keys?organisation=acme", headers=other.admin)
    assert asked.status_code == 403
    acme_key = api.services.auth.issue_key("acme", Role.PLATFORM).key.key_id
    assert api.client.delete(f"/api/v1/keys/{acme_key}", headers=other.admin).status_code == 404
    assert not api.services.auth.store.get_key(acme_key).revoked
    revoked = api.client.delete(f"/api/v1/keys/{own.json()['key_id']}", headers=other.admin)
    assert revoked.status_code == 200
    by_operator = api.client.delete(f"/api/v1/keys/{acme_key}", headers=api.auth(Role.ADMIN))
    assert by_operator.status_code == 200


def test_a_member_admin_reads_only_its_own_audit_records(api: Api, other) -> None:
    api.client.get("/api/v1/keys", headers=api.auth(Role.ADMIN))  # an acme record
    api.client.get("/api/v1/keys", headers=other.admin)  # an "other" record
    records = api.client.get("/api/v1/audit", headers=other.admin).json()["records"]
    assert records
    assert {r["organisation"] for r in records} == {"other"}
    every = api.client.get("/api/v1/audit", headers=api.auth(Role.ADMIN)).json()["records"]
    assert {"acme", "other"} <= {r["organisation"] for r in every}


def test_banks_are_read_by_owner_operator_and_shares_and_changed_by_owner(api: Api, other) -> None:
    made = api.client.post("/api/v1/banks", json={"name": "theirs"}, headers=other.admin)
    assert made.status_code == 201
    assert made.json()["owner"] == "other"
    names = lambda headers: [  # noqa: E731
        b["name"] for b in api.client.get("/api/v1/banks", headers=headers).json()["banks"]
    ]
    assert names(other.analyst) == ["theirs"]
    assert names(api.auth(Role.ANALYST)) == ["known", "theirs"]  # the operator reads all
    assert api.client.get("/api/v1/banks/known", headers=other.analyst).status_code == 404
    assert api.client.get("/api/v1/banks/known/export", headers=other.analyst).status_code == 404
    admin = api.auth(Role.ADMIN)
    shared = api.client.put("/api/v1/banks/known/shares/other", headers=admin)
    assert shared.json() == {"bank": "known", "shared_with": ["other"]}
    assert names(other.analyst) == ["known", "theirs"]
    entries = api.client.get("/api/v1/banks/known/entries", headers=other.analyst)
    assert len(entries.json()["entries"]) == 2
    # shared means read-only: changing it is refused, not hidden
    imported = api.client.post(
        "/api/v1/banks/known/import?format=plain&signal_type=md5",
        content=b"0" * 32,
        headers=other.admin,
    )
    assert imported.status_code == 403
    patched = api.client.patch("/api/v1/banks/known", json={"enabled": False}, headers=other.admin)
    assert patched.status_code == 403
    assert api.client.put("/api/v1/banks/known/shares/x", headers=other.admin).status_code == 403
    unshared = api.client.delete("/api/v1/banks/known/shares/other", headers=admin)
    assert unshared.json()["shared_with"] == []
    assert api.client.get("/api/v1/banks/known", headers=other.analyst).status_code == 404
    again = api.client.delete("/api/v1/banks/known/shares/other", headers=admin)
    assert again.status_code == 404


def test_only_the_operator_creates_banks_for_another_organisation(api: Api, other) -> None:
    refused = api.client.post(
        "/api/v1/banks", json={"name": "planted", "owner": "acme"}, headers=other.admin
    )
    assert refused.status_code == 403
    made = api.client.post(
        "/api/v1/banks", json={"name": "given", "owner": "other"}, headers=api.auth(Role.ADMIN)
    )
    assert made.status_code == 201
    assert made.json()["owner"] == "other"
    patched = api.client.patch("/api/v1/banks/given", json={"enabled": False}, headers=other.admin)
    assert patched.status_code == 200
    # only the operator makes a bank act without review (tests/security/test_bank_authority.py)
    auto = api.client.patch("/api/v1/banks/given", json={"trust": "auto"}, headers=other.admin)
    assert auto.status_code == 403
    unknown = api.client.post(
        "/api/v1/banks", json={"name": "nobody", "owner": "nobody"}, headers=api.auth(Role.ADMIN)
    )
    assert unknown.status_code == 404


CASE_WORK = (
    "/api/v1/reports",
    "/api/v1/notices",
    "/api/v1/providers",
    "/api/v1/finance/indicators",
)


def test_case_work_is_the_operators_only(api: Api, other) -> None:
    """Reports, notices, providers and indicators: an admin or analyst of another
    organisation is refused (403, and the refusal is audited); the operator's are served; a
    provider key of any organisation still reads its own notices."""
    for path in CASE_WORK:
        for key in (other.admin, other.analyst):
            refused = api.client.get(path, headers=key)
            assert refused.status_code == 403, (path, refused.text)
            assert "operator organisation" in refused.json()["message"]
        assert api.client.get(path, headers=api.auth(Role.ANALYST)).status_code == 200, path
    refusals = api.services.auth.audit_log.list_records(limit=100, action="auth.refused")
    assert len([r for r in refusals if r.target == "GET /api/v1/reports"]) == 2
    made = api.client.post(
        "/api/v1/keys", json={"organisation": "other", "role": "analyst"}, headers=other.admin
    )
    assert made.status_code == 201  # issuing is allowed; the new key still sees no case work
    fresh = {"Authorization": f"Bearer {made.json()['token']}"}
    assert api.client.get("/api/v1/reports", headers=fresh).status_code == 403


def test_row_ids_beyond_64_bits_are_a_clear_400(api: Api) -> None:
    """Found by schemathesis: ?before=2**63 reached SQLite and overflowed (500)."""
    admin = api.auth(Role.ADMIN)
    seed_known_bank(api.services)
    for path in (
        "/api/v1/audit?before=9223372036854775808",
        "/api/v1/banks/known/entries?after=9223372036854775808",
    ):
        answer = api.client.get(path, headers=admin)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["code"] == "invalid_input"
