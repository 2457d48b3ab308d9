"""People who sign in to the web pages: users, their web sessions, and where both are kept.

API keys are for programs; a :class:`User` is a person with a password (Argon2, see
:mod:`keepdown.auth.passwords`), an optional second factor (:mod:`keepdown.auth.totp`), an
organisation and one of the API roles. ``senior`` marks analysts who take escalated review
items. A :class:`WebSession` is one signed-in browser; only the SHA-256 of its cookie token is
stored, so a copy of the database cannot be used to sign in.

:class:`UserStore` is what :class:`keepdown.auth.signin.SignIn` needs from storage
(``keepdown.storage.user_store.SqlUserStore``); :class:`InMemoryUserStore` is its twin.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from keepdown.auth.model import Principal, Role
from keepdown.errors import Conflict, InvalidInput, NotFound

__all__ = [
    "USER_FIELDS",
    "InMemoryUserStore",
    "User",
    "UserStore",
    "WebSession",
    "check_username",
]

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,47}$")

#: Roles whose people may open the review queue.
REVIEW_ROLES = frozenset({Role.ADMIN, Role.ANALYST})


def check_username(name: str) -> str:
    """``name`` lower-cased, or InvalidInput: 2-48 of a-z 0-9 . _ @ -, starting alphanumeric."""
    name = name.strip().lower()
    if not _USERNAME.match(name):
        raise InvalidInput(
            "a username is 2 to 48 characters: letters, digits, '.', '_', '@' or '-'",
            field="username",
        )
    return name


@dataclass(frozen=True)
class User:
    """A person who signs in. Secrets are kept out of ``repr`` so logs never carry them."""

    id: int
    username: str
    organisation: str
    role: Role
    created_at: datetime
    password_changed_at: datetime
    display_name: str = ""
    senior: bool = False
    password_hash: str = field(default="", repr=False)
    must_change_password: bool = False
    totp_secret: str | None = field(default=None, repr=False)
    totp_last_step: int | None = None
    language: str = ""
    failed_logins: int = 0
    locked_until: datetime | None = None
    disabled_at: datetime | None = None
    last_login_at: datetime | None = None

    @property
    def totp_enabled(self) -> bool:
        return bool(self.totp_secret)

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    @property
    def may_review(self) -> bool:
        return self.role in REVIEW_ROLES

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def principal(self) -> Principal:
        """Who this person acts as in the audit log (``user:<username>``)."""
        return Principal(
            key_id=f"user:{self.username}", organisation=self.organisation, role=self.role
        )

    def to_public(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "display_name": self.display_name,
            "organisation": self.organisation,
            "role": self.role.value,
            "senior": self.senior,
            "totp": self.totp_enabled,
            "disabled": self.disabled,
            "created_at": self.created_at.isoformat(),
            "last_login_at": self.last_login_at.isoformat() if self.last_login_at else None,
        }


#: Columns of a user that :meth:`UserStore.update_user` may change.
USER_FIELDS = frozenset(
    {
        "display_name",
        "role",
        "senior",
        "password_hash",
        "password_changed_at",
        "must_change_password",
        "totp_secret",
        "totp_last_step",
        "language",
        "failed_logins",
        "locked_until",
        "disabled_at",
        "last_login_at",
    }
)


@dataclass(frozen=True)
class WebSession:
    """One signed-in browser. ``pending_totp``: the password was right, the code is to come."""

    id: int
    user_id: int
    csrf_token: str = field(repr=False)
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    pending_totp: bool = False
    client_ip: str | None = None
    review_since: datetime | None = None

    def idle_expired(self, now: datetime, idle: timedelta) -> bool:
        return now >= self.expires_at or now - self.last_seen_at >= idle


class UserStore(Protocol):
    """Users and their web sessions."""

    def add_user(self, user: User) -> User:
        """Store a new user (``id`` is assigned); Conflict if the username is taken, NotFound
        if the organisation does not exist."""
        ...

    def get_user(self, username: str) -> User:
        """NotFound unless a user has this username."""
        ...

    def get_user_by_id(self, user_id: int) -> User: ...

    def list_users(self, organisation: str | None = None) -> list[User]: ...

    def update_user(self, username: str, **values: Any) -> User:
        """Change some of :data:`USER_FIELDS`; NotFound if there is no such user."""
        ...

    def record_failure(self, username: str, *, lock_at: int, lock_until: datetime) -> User:
        """Count one failed sign-in atomically; at ``lock_at`` failures set ``locked_until``."""
        ...

    def use_totp_step(self, username: str, step: int) -> bool:
        """Mark a TOTP time step used; False when it (or a later one) was used already."""
        ...

    def add_session(self, session: WebSession, token_sha256: str) -> WebSession: ...

    def get_session(self, token_sha256: str) -> WebSession | None: ...

    def update_session(self, session_id: int, **values: Any) -> None: ...

    def delete_session(self, session_id: int) -> None: ...

    def delete_user_sessions(self, user_id: int) -> int: ...

    def purge_sessions(self, now: datetime) -> int:
        """Drop sessions past their absolute expiry."""
        ...


class InMemoryUserStore:
    """:class:`UserStore` in memory, same behaviour (organisations are checked by a callback)."""

    def __init__(self, organisations: frozenset[str] | None = None) -> None:
        self.organisations = organisations
        self._users: dict[str, User] = {}
        self._sessions: dict[str, WebSession] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add_user(self, user: User) -> User:
        with self._lock:
            if user.username in self._users:
                raise Conflict(f"user {user.username!r} already exists", username=user.username)
            if self.organisations is not None and user.organisation not in self.organisations:
                raise NotFound(f"no organisation named {user.organisation!r}")
            stored = dataclasses.replace(user, id=next(self._ids))
            self._users[user.username] = stored
            return stored

    def get_user(self, username: str) -> User:
        try:
            return self._users[username]
        except KeyError:
            raise NotFound(f"no user {username!r}", username=username) from None

    def get_user_by_id(self, user_id: int) -> User:
        for user in self._users.values():
            if user.id == user_id:
                return user
        raise NotFound(f"no user with id {user_id}")

    def list_users(self, organisation: str | None = None) -> list[User]:
        found = [u for u in self._users.values() if organisation in (None, u.organisation)]
        return sorted(found, key=lambda u: u.username)

    def update_user(self, username: str, **values: Any) -> User:
        unknown = set(values) - USER_FIELDS
        if unknown:
            raise InvalidInput(f"cannot change {sorted(unknown)}")
        with self._lock:
            user = dataclasses.replace(self.get_user(username), **values)
            self._users[username] = user
            return user

    def record_failure(self, username: str, *, lock_at: int, lock_until: datetime) -> User:
        with self._lock:
            user = self.get_user(username)
            failures = user.failed_logins + 1
            locked = lock_until if failures >= lock_at else user.locked_until
            user = dataclasses.replace(user, failed_logins=failures, locked_until=locked)
            self._users[username] = user
            return user

    def use_totp_step(self, username: str, step: int) -> bool:
        with self._lock:
            user = self.get_user(username)
            if user.totp_last_step is not None and user.totp_last_step >= step:
                return False
            self._users[username] = dataclasses.replace(user, totp_last_step=step)
            return True

    def add_session(self, session: WebSession, token_sha256: str) -> WebSession:
        with self._lock:
            stored = dataclasses.replace(session, id=next(self._ids))
            self._sessions[token_sha256] = stored
            return stored

    def get_session(self, token_sha256: str) -> WebSession | None:
        return self._sessions.get(token_sha256)

    def update_session(self, session_id: int, **values: Any) -> None:
        with self._lock:
            for token, session in self._sessions.items():
                if session.id == session_id:
                    self._sessions[token] = dataclasses.replace(session, **values)

    def delete_session(self, session_id: int) -> None:
        with self._lock:
            self._sessions = {t: s for t, s in self._sessions.items() if s.id != session_id}

    def delete_user_sessions(self, user_id: int) -> int:
        with self._lock:
            before = len(self._sessions)
            self._sessions = {t: s for t, s in self._sessions.items() if s.user_id != user_id}
            return before - len(self._sessions)

    def purge_sessions(self, now: datetime) -> int:
        with self._lock:
            before = len(self._sessions)
            self._sessions = {t: s for t, s in self._sessions.items() if s.expires_at > now}
            return before - len(self._sessions)
