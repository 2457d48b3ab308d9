"""The auth service over both stores: the in-memory twin and SQL (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from keepdown.auth import AuthService, InMemoryAuthStore, Role, parse_duration
from keepdown.errors import AuthError, Conflict, Forbidden, InvalidInput, NotFound, UsageError
from keepdown.testing import FrozenClock


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def service(request: pytest.FixtureRequest, tmp_path) -> Iterator[AuthService]:
    clock = FrozenClock()
    if request.param == "memory":
        store = InMemoryAuthStore()
        yield AuthService(store, store, clock=clock)
        return
    from keepdown.storage import open_storage_url
    from keepdown.storage.auth_store import SqlAuthStore

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'k.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    storage = open_storage_url(url)
    sql = SqlAuthStore(storage.engine)
    yield AuthService(sql, sql, clock=clock)
    storage.close()


def test_issued_key_authenticates_as_its_org_and_role(service: AuthService) -> None:
    service.add_organisation("acme")
    issued = service.issue_key("acme", Role.PLATFORM, expires_in=timedelta(days=1))
    who = service.authenticate(issued.token)
    assert (who.organisation, who.role, who.key_id) == ("acme", Role.PLATFORM, issued.key.key_id)
    stored = service.store.get_key(issued.key.key_id)
    assert issued.token not in repr(stored)  # only the digest is kept
    assert stored.expires_at == service.clock.now() + timedelta(days=1)


def test_wrong_secret_and_unknown_id_look_the_same(service: AuthService) -> None:
    service.add_organisation("acme")
    issued = service.issue_key("acme", Role.ADMIN)
    with pytest.raises(AuthError, match="not valid"):
        service.authenticate(issued.token[:-2] + "zz")
    with pytest.raises(AuthError, match="not valid"):
        service.authenticate("kd_0000000000000000_" + "a" * 43)


def test_revoked_and_expired_keys_are_refused(service: AuthService) -> None:
    service.add_organisation("acme")
    revoked = service.issue_key("acme", Role.ANALYST)
    service.authenticate(revoked.token)  # cached now: revocation must still win
    service.revoke_key(revoked.key.key_id)
    with pytest.raises(AuthError, match="revoked"):
        service.authenticate(revoked.token)
    expiring = service.issue_key("acme", Role.ANALYST, expires_in=timedelta(hours=1))
    service.authenticate(expiring.token)
    service.clock.advance(timedelta(hours=1))
    with pytest.raises(AuthError, match="expired"):
        service.authenticate(expiring.token)


def test_revocation_is_idempotent_and_listed(service: AuthService) -> None:
    service.add_organisation("acme")
    issued = service.issue_key("acme", Role.REGULATOR, label="q1 report")
    first = service.revoke_key(issued.key.key_id)
    service.clock.advance(60)
    assert service.revoke_key(issued.key.key_id).revoked_at == first.revoked_at
    (listed,) = service.list_keys("acme")
    assert listed.revoked
    assert listed.label == "q1 report"
    assert "secret" not in str(listed.to_dict())


def test_authorize_refuses_roles_not_listed(service: AuthService) -> None:
    service.add_organisation("acme")
    who = service.authenticate(service.issue_key("acme", Role.PROVIDER).token)
    service.authorize(who, frozenset({Role.PROVIDER, Role.ADMIN}))
    with pytest.raises(Forbidden):
        service.authorize(who, frozenset({Role.PLATFORM}))


def test_organisations_are_unique_and_must_exist(service: AuthService) -> None:
    service.add_organisation("acme")
    with pytest.raises(Conflict):
        service.add_organisation("acme")
    assert service.ensure_organisation("acme").name == "acme"
    assert [o.name for o in service.store.list_organisations()] == ["acme"]
    with pytest.raises(NotFound):
        service.issue_key("nobody", Role.ADMIN)
    with pytest.raises(InvalidInput):
        service.add_organisation("   ")
    with pytest.raises(NotFound):
        service.revoke_key("0000000000000000")


def test_audit_records_who_what_when_where(service: AuthService) -> None:
    service.add_organisation("acme")
    who = service.authenticate(service.issue_key("acme", Role.ADMIN).token)
    service.audit("bank.create", principal=who, client_ip="203.0.113.9", target="c3p", n=3)
    service.audit("key.revoke", target="abc")
    newest, older = service.audit_log.list_records(limit=10)
    assert newest.action == "key.revoke"
    assert newest.actor == "cli"
    assert older.to_dict() == {
        "id": older.id,
        "at": service.clock.now().isoformat(),
        "action": "bank.create",
        "actor": who.key_id,
        "organisation": "acme",
        "role": "admin",
        "client_ip": "203.0.113.9",
        "target": "c3p",
        "outcome": "ok",
        "details": {"n": 3},
    }
    assert service.audit_log.list_records(action="bank.create") == [older]


@pytest.mark.parametrize(
    ("text", "seconds"), [("90d", 90 * 86400), ("12h", 43200), ("2w", 1209600)]
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "0d", "90", "d", "-1d", "1y"])
def test_bad_durations_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)
