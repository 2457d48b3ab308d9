"""The SQL user store on SQLite and PostgreSQL: atomic failure counts, one-time TOTP steps,
sessions by token digest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert

from keepdown.auth import Role
from keepdown.auth.people import User, WebSession
from keepdown.errors import Conflict, InvalidInput, NotFound
from keepdown.storage.tables_access import organisations
from keepdown.storage.user_store import SqlUserStore
from keepdown.testing import utc

NOW = utc(2026, 3, 1, 12)


@pytest.fixture
def users(storage) -> SqlUserStore:
    with storage.engine.begin() as conn:
        conn.execute(insert(organisations).values(name="acme", created_at=NOW))
    store = SqlUserStore(storage.engine)
    store.add_user(
        User(
            id=0,
            username="ana",
            organisation="acme",
            role=Role.ANALYST,
            created_at=NOW,
            password_changed_at=NOW,
            password_hash="x",
        )
    )
    return store


def test_users_are_unique_and_need_an_organisation(users: SqlUserStore) -> None:
    assert users.get_user("ana").role is Role.ANALYST
    with pytest.raises(Conflict):
        users.add_user(users.get_user("ana"))
    with pytest.raises(NotFound):
        users.add_user(
            User(
                id=0,
                username="bob",
                organisation="nowhere",
                role=Role.ADMIN,
                created_at=NOW,
                password_changed_at=NOW,
            )
        )
    with pytest.raises(InvalidInput):
        users.update_user("ana", password_plain="eve")
    assert [u.username for u in users.list_users("acme")] == ["ana"]


def test_failures_lock_at_the_limit(users: SqlUserStore) -> None:
    until = NOW + timedelta(minutes=15)
    for expected in (1, 2):
        after = users.record_failure("ana", lock_at=3, lock_until=until)
        assert (after.failed_logins, after.locked_until) == (expected, None)
    assert users.record_failure("ana", lock_at=3, lock_until=until).locked_until == until


def test_a_totp_step_is_used_once(users: SqlUserStore) -> None:
    assert users.use_totp_step("ana", 100)
    assert not users.use_totp_step("ana", 100)
    assert not users.use_totp_step("ana", 99)
    assert users.use_totp_step("ana", 101)


def test_sessions_by_digest_and_purge(users: SqlUserStore) -> None:
    user = users.get_user("ana")
    session = users.add_session(
        WebSession(
            id=0,
            user_id=user.id,
            csrf_token="t",
            created_at=NOW,
            last_seen_at=NOW,
            expires_at=NOW + timedelta(hours=1),
            review_since=NOW,
        ),
        "d" * 64,
    )
    assert users.get_session("d" * 64) == session
    users.update_session(session.id, pending_totp=True)
    assert users.get_session("d" * 64).pending_totp
    assert users.purge_sessions(NOW) == 0
    assert users.purge_sessions(NOW + timedelta(hours=2)) == 1
    assert users.get_session("d" * 64) is None
