"""People on SQL: users and web sessions (:class:`keepdown.auth.people.UserStore`).

Counting a failed sign-in and using a TOTP step are single conditional ``UPDATE`` statements,
so two sign-in attempts racing in two API workers cannot both slip under the lock-out limit
or both use the same code. Sessions are found by the SHA-256 of the cookie's token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, case, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from keepdown.auth.model import Role
from keepdown.auth.people import USER_FIELDS, User, WebSession
from keepdown.errors import Conflict, InvalidInput, NotFound
from keepdown.storage.engine import storage_errors
from keepdown.storage.tables_access import organisations, users, web_sessions

__all__ = ["SqlUserStore"]

_USER_QUERY = select(users, organisations.c.name.label("organisation")).join(
    organisations, organisations.c.id == users.c.organisation_id
)


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        username=row.username,
        organisation=row.organisation,
        role=Role(row.role),
        created_at=row.created_at,
        password_changed_at=row.password_changed_at,
        display_name=row.display_name,
        senior=bool(row.senior),
        password_hash=row.password_hash,
        must_change_password=bool(row.must_change_password),
        totp_secret=row.totp_secret,
        totp_last_step=row.totp_last_step,
        language=row.language,
        failed_logins=row.failed_logins,
        locked_until=row.locked_until,
        disabled_at=row.disabled_at,
        last_login_at=row.last_login_at,
    )


def _session(row: Row[Any]) -> WebSession:
    return WebSession(
        id=row.id,
        user_id=row.user_id,
        csrf_token=row.csrf_token,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        pending_totp=bool(row.pending_totp),
        client_ip=row.client_ip,
        review_since=row.review_since,
    )


_SESSION_FIELDS = frozenset({"last_seen_at", "pending_totp", "review_since"})


class SqlUserStore:
    """Users and web sessions in the keepdown database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- users ---------------------------------------------------------------------------

    def add_user(self, user: User) -> User:
        with storage_errors("adding a user"), self.engine.begin() as conn:
            org = conn.execute(
                select(organisations.c.id).where(organisations.c.name == user.organisation)
            ).first()
            if org is None:
                raise NotFound(f"no organisation named {user.organisation!r}")
            values = {
                name: getattr(user, name)
                for name in USER_FIELDS | {"username", "created_at"}
                if name != "role"
            }
            try:
                conn.execute(
                    insert(users).values(**values, role=user.role.value, organisation_id=org.id)
                )
            except IntegrityError as exc:
                raise Conflict(
                    f"user {user.username!r} already exists", username=user.username
                ) from exc
        return self.get_user(user.username)

    def _one(self, where: Any, missing: str) -> User:
        with storage_errors("reading a user"), self.engine.connect() as conn:
            row = conn.execute(_USER_QUERY.where(where)).first()
        if row is None:
            raise NotFound(missing)
        return _user(row)

    def get_user(self, username: str) -> User:
        return self._one(users.c.username == username, f"no user {username!r}")

    def get_user_by_id(self, user_id: int) -> User:
        return self._one(users.c.id == user_id, f"no user with id {user_id}")

    def list_users(self, organisation: str | None = None) -> list[User]:
        query = _USER_QUERY.order_by(users.c.username)
        if organisation is not None:
            query = query.where(organisations.c.name == organisation)
        with storage_errors("listing users"), self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(query)]

    def update_user(self, username: str, **values: Any) -> User:
        unknown = set(values) - USER_FIELDS
        if unknown:
            raise InvalidInput(f"cannot change {sorted(unknown)}")
        if isinstance(values.get("role"), Role):
            values["role"] = values["role"].value
        with storage_errors("updating a user"), self.engine.begin() as conn:
            changed = conn.execute(
                update(users).where(users.c.username == username).values(**values)
            ).rowcount
        if changed != 1:
            raise NotFound(f"no user {username!r}", username=username)
        return self.get_user(username)

    def record_failure(self, username: str, *, lock_at: int, lock_until: datetime) -> User:
        c = users.c
        with storage_errors("counting a failed sign-in"), self.engine.begin() as conn:
            conn.execute(
                update(users)
                .where(c.username == username)
                .values(
                    failed_logins=c.failed_logins + 1,
                    locked_until=case(
                        (c.failed_logins + 1 >= lock_at, lock_until), else_=c.locked_until
                    ),
                )
            )
        return self.get_user(username)

    def use_totp_step(self, username: str, step: int) -> bool:
        c = users.c
        with storage_errors("using a second-factor code"), self.engine.begin() as conn:
            changed = conn.execute(
                update(users)
                .where(
                    c.username == username,
                    or_(c.totp_last_step.is_(None), c.totp_last_step < step),
                )
                .values(totp_last_step=step)
            ).rowcount
        return changed == 1

    # --- sessions ------------------------------------------------------------------------

    def add_session(self, session: WebSession, token_sha256: str) -> WebSession:
        values = {
            "token_sha256": token_sha256,
            "user_id": session.user_id,
            "csrf_token": session.csrf_token,
            "pending_totp": session.pending_totp,
            "created_at": session.created_at,
            "last_seen_at": session.last_seen_at,
            "expires_at": session.expires_at,
            "client_ip": (session.client_ip or "")[:64] or None,
            "review_since": session.review_since,
        }
        with storage_errors("opening a session"), self.engine.begin() as conn:
            conn.execute(insert(web_sessions).values(**values))
        found = self.get_session(token_sha256)
        assert found is not None
        return found

    def get_session(self, token_sha256: str) -> WebSession | None:
        query = select(web_sessions).where(web_sessions.c.token_sha256 == token_sha256)
        with storage_errors("reading a session"), self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _session(row) if row is not None else None

    def update_session(self, session_id: int, **values: Any) -> None:
        unknown = set(values) - _SESSION_FIELDS
        if unknown:
            raise InvalidInput(f"cannot change {sorted(unknown)}")
        with storage_errors("updating a session"), self.engine.begin() as conn:
            conn.execute(
                update(web_sessions).where(web_sessions.c.id == session_id).values(**values)
            )

    def delete_session(self, session_id: int) -> None:
        with storage_errors("ending a session"), self.engine.begin() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.id == session_id))

    def delete_user_sessions(self, user_id: int) -> int:
        with storage_errors("ending sessions"), self.engine.begin() as conn:
            return conn.execute(
                delete(web_sessions).where(web_sessions.c.user_id == user_id)
            ).rowcount

    def purge_sessions(self, now: datetime) -> int:
        with storage_errors("purging sessions"), self.engine.begin() as conn:
            return conn.execute(
                delete(web_sessions).where(web_sessions.c.expires_at <= now)
            ).rowcount
