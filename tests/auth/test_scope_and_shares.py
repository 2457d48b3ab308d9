"""Organisation scoping rules, bank shares and the write-ahead audit log, on every store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keepdown.auth import AuditRecord, AuthService, InMemoryAuthStore, Principal, Role, Scope
from keepdown.banks.service import BankService
from keepdown.errors import AuthError, Forbidden, NotFound
from keepdown.storage import open_storage_url
from keepdown.storage.auth_store import SqlAuthStore
from keepdown.testing import FrozenClock

OPERATOR = "hotline"


def scope(org: str, role: Role = Role.ADMIN) -> Scope:
    return Scope(Principal(key_id="k" * 16, organisation=org, role=role), OPERATOR)


def test_the_operator_owns_everything_and_others_only_their_own() -> None:
    operator, member = scope(OPERATOR), scope("platform-co")
    assert operator.is_operator
    assert not member.is_operator
    assert operator.own("platform-co")
    assert member.own("platform-co")
    assert not member.own(OPERATOR)
    assert operator.filter_organisation(None) is None
    assert member.filter_organisation(None) == "platform-co"
    with pytest.raises(Forbidden):
        member.filter_organisation(OPERATOR)
    with pytest.raises(Forbidden):
        member.require_operator("create organisations")
    with pytest.raises(Forbidden):
        member.require_own(OPERATOR, "issue keys")
    assert not Scope(member.principal, "").is_operator  # no operator configured: nobody is


def test_bank_reads_follow_ownership_and_shares() -> None:
    member = scope("partner")
    assert member.reads_bank("partner", "theirs", ())
    assert member.reads_bank(OPERATOR, "pooled", {"pooled"})
    assert not member.reads_bank(OPERATOR, "private", {"pooled"})
    with pytest.raises(NotFound):
        member.check_bank_read(OPERATOR, "private", ())
    with pytest.raises(Forbidden):  # visible through a share, but not its to change
        member.check_bank_change(OPERATOR, "pooled", {"pooled"})
    scope(OPERATOR).check_bank_change("partner", "theirs", ())


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def auth(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuthService]:
    clock = FrozenClock()
    if request.param == "memory":
        store = InMemoryAuthStore()
        yield AuthService(store, store, clock=clock, refusals_per_minute=2)
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'k.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    storage = open_storage_url(url)
    sql = SqlAuthStore(storage.engine)
    service = AuthService(sql, sql, clock=clock, refusals_per_minute=2)
    service.add_organisation(OPERATOR)
    BankService(storage.banks, storage.events, clock=clock).create_bank("pooled", owner=OPERATOR)
    yield service
    storage.close()


def test_shares_are_idempotent_and_withdrawn(auth: AuthService) -> None:
    auth.ensure_organisation("partner")
    auth.share_bank("pooled", "partner")
    auth.share_bank("pooled", "partner")
    assert auth.bank_shares("pooled") == ["partner"]
    assert auth.banks_shared_with("partner") == {"pooled"}
    assert auth.banks_shared_with(OPERATOR) == frozenset()
    auth.unshare_bank("pooled", "partner")
    assert auth.bank_shares("pooled") == []
    with pytest.raises(NotFound):
        auth.unshare_bank("pooled", "partner")
    with pytest.raises(NotFound):
        auth.share_bank("pooled", "nobody")


def test_audited_writes_first_then_settles(auth: AuthService) -> None:
    with auth.audited("bank.import", target="pooled") as found:
        assert auth.audit_log.list_records()[0].outcome == "started"
        found["added"] = 3
    done = auth.audit_log.list_records()[0]
    assert (done.outcome, done.details) == ("ok", {"added": 3})
    with pytest.raises(NotFound), auth.audited("bank.export", target="x"):
        raise NotFound("no bank named 'x'")
    failed = auth.audit_log.list_records()[0]
    assert (failed.outcome, failed.details["error"]) == ("failed", "not_found")
    with pytest.raises(Forbidden), auth.audited("key.revoke", target="y"):
        raise Forbidden("not yours")
    assert auth.audit_log.list_records()[0].outcome == "refused"
    # settling twice changes nothing: only a started record is ever settled
    auth.settle_audit(done, RuntimeError("late"))
    assert auth.audit_log.list_records(action="bank.import")[0].outcome == "ok"


def test_records_filter_by_organisation_and_page_back(auth: AuthService) -> None:
    auth.ensure_organisation("partner")
    mine = auth.authenticate(auth.issue_key("partner", Role.ADMIN).token)
    for n in range(3):
        auth.audit("key.list", principal=mine, n=n)
    auth.audit("key.list")  # the CLI: no organisation
    page = auth.audit_log.list_records(limit=2, organisation="partner")
    assert [r.details["n"] for r in page] == [2, 1]
    older = auth.audit_log.list_records(limit=2, organisation="partner", before=page[-1].id)
    assert [r.details["n"] for r in older] == [0]
    assert all(isinstance(r, AuditRecord) and r.id for r in page + older)


def test_refusals_are_recorded_up_to_the_cap(auth: AuthService) -> None:
    error = AuthError("the API key is not valid")
    kept = [
        auth.record_refusal(error, target="GET /api/v1/keys", key_id=None, client_ip="192.0.2.1")
        for _ in range(4)
    ]
    assert kept == [True, True, False, False]
    refused = auth.audit_log.list_records(action="auth.refused")
    assert [(r.actor, r.outcome, r.details["error"]) for r in refused] == [
        ("anonymous", "refused", "unauthenticated")
    ] * 2
    auth.clock.advance(61)  # a new minute: recorded again
    assert auth.record_refusal(error, target="GET /api/v1/keys", key_id="ab" * 8, client_ip=None)


def test_cached_authentication_never_reads_the_store(auth: AuthService) -> None:
    auth.ensure_organisation("partner")
    token = auth.issue_key("partner", Role.PLATFORM).token
    assert auth.authenticate_cached(token) is None  # not looked up yet
    who = auth.authenticate(token)
    assert auth.authenticate_cached(token) == who
    with pytest.raises(AuthError, match="not valid"):
        auth.authenticate_cached(token[:-3] + "zzz")
