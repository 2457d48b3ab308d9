"""Signing people in and out: passwords, lock-out, second factor, sessions.

:meth:`SignIn.sign_in` (the password step):

1. find the user; an unknown name still costs one Argon2 verification, and gets the same
   message as a wrong password, so names cannot be probed;
2. refuse a disabled account, and a locked one until ``locked_until`` (the lock is set by the
   ``lock_at``-th failure in a row, counted atomically in the store);
3. verify the password; a failure is counted and audited (``web.sign_in`` refused), the
   failure that locks the account is audited as ``web.lockout``;
4. success resets the count, rehashes a hash made with older parameters and opens a session.
   With a second factor the session is ``pending_totp`` and admits to nothing but
   :meth:`SignIn.second_factor` (a wrong code counts as a failure too; a code is usable once).

:meth:`SignIn.session` checks a cookie's token on every request: known, not past its absolute
expiry (``max_age``) nor idle for ``idle``, its user neither disabled nor locked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from keepdown.auth import totp
from keepdown.auth.model import AuditRecord, Role
from keepdown.auth.passwords import Passwords, check_password
from keepdown.auth.people import User, UserStore, WebSession, check_username
from keepdown.auth.service import AuthService
from keepdown.errors import AuthError, InvalidInput, NotFound

__all__ = ["Policy", "SignIn", "SignedIn"]

_WRONG = "wrong username or password"
_TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class Policy:
    """Limits of the sign-in (from the ``web_*`` settings)."""

    lock_at: int = 5
    lock_for: timedelta = timedelta(minutes=15)
    idle: timedelta = timedelta(minutes=30)
    max_age: timedelta = timedelta(hours=12)
    min_password_length: int = 12
    totp_issuer: str = "keepdown"

    @classmethod
    def from_settings(cls, settings: Any) -> Policy:
        return cls(
            lock_at=max(1, settings.web_login_max_failures),
            lock_for=timedelta(minutes=settings.web_lockout_minutes),
            idle=timedelta(minutes=settings.web_session_idle_minutes),
            max_age=timedelta(hours=settings.web_session_max_hours),
            min_password_length=settings.web_password_min_length,
            totp_issuer=settings.web_totp_issuer,
        )


@dataclass(frozen=True)
class SignedIn:
    """A session and its user; ``token`` is the cookie value (only at sign-in, else "")."""

    user: User
    session: WebSession
    token: str = ""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SignIn:
    """See the module docstring."""

    def __init__(
        self,
        store: UserStore,
        auth: AuthService,
        *,
        policy: Policy | None = None,
        passwords: Passwords | None = None,
    ) -> None:
        self.store = store
        self.auth = auth
        self.clock = auth.clock
        self.policy = policy or Policy()
        self.passwords = passwords or Passwords()

    # --- people --------------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        password: str,
        *,
        organisation: str,
        role: Role | str,
        senior: bool = False,
        display_name: str = "",
    ) -> User:
        name = check_username(username)
        check_password(password, username=name, min_length=self.policy.min_password_length)
        self.auth.store.get_organisation(organisation)
        now = self.clock.now()
        return self.store.add_user(
            User(
                id=0,
                username=name,
                organisation=organisation,
                role=Role(role),
                created_at=now,
                password_changed_at=now,
                display_name=display_name.strip()[:200],
                senior=senior,
                password_hash=self.passwords.hash(password),
            )
        )

    def set_password(self, username: str, password: str, *, must_change: bool = False) -> User:
        """A new password (policy checked); every session of the user ends."""
        user = self.store.get_user(username)
        check_password(password, username=user.username, min_length=self.policy.min_password_length)
        user = self.store.update_user(
            user.username,
            password_hash=self.passwords.hash(password),
            password_changed_at=self.clock.now(),
            must_change_password=must_change,
            failed_logins=0,
            locked_until=None,
        )
        self.store.delete_user_sessions(user.id)
        return user

    def reset_password(self, username: str) -> tuple[User, str]:
        """A random temporary password the user must change at the next sign-in."""
        temporary = secrets.token_urlsafe(15)
        return self.set_password(username, temporary, must_change=True), temporary

    def change_password(self, user: User, current: str, new: str) -> User:
        ok, _ = self.passwords.verify(user.password_hash, current)
        if not ok:
            raise AuthError("the current password is wrong")
        if current == new:
            raise InvalidInput("the new password must differ from the current one")
        return self.set_password(user.username, new)

    def set_disabled(self, username: str, disabled: bool) -> User:
        user = self.store.update_user(
            check_username(username), disabled_at=self.clock.now() if disabled else None
        )
        if disabled:
            self.store.delete_user_sessions(user.id)
        return user

    def unlock(self, username: str) -> User:
        return self.store.update_user(username, failed_logins=0, locked_until=None)

    # --- signing in ----------------------------------------------------------------------

    def sign_in(self, username: str, password: str, *, client_ip: str | None = None) -> SignedIn:
        """Password step (module docstring); AuthError with a message for the person."""
        try:
            user = self.store.get_user(username.strip().lower())
        except (NotFound, InvalidInput):
            self.passwords.burn(password)
            self._refused(None, client_ip, "unknown_user", username=username[:64])
            raise AuthError(_WRONG) from None
        now = self.clock.now()
        if user.disabled:
            self.passwords.burn(password)
            self._refused(user, client_ip, "disabled")
            raise AuthError(_WRONG)
        if user.locked(now):
            self._refused(user, client_ip, "locked")
            raise AuthError("this account is locked after too many failed sign-ins; try later")
        ok, rehash = self.passwords.verify(user.password_hash, password)
        if not ok:
            self._failure(user, client_ip, "wrong_password")
            raise AuthError(_WRONG)
        values: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
        if rehash:
            values["password_hash"] = self.passwords.hash(password)
        if not user.totp_enabled:
            values["last_login_at"] = now
        user = self.store.update_user(user.username, **values)
        return self._open(user, client_ip, pending_totp=user.totp_enabled)

    def second_factor(
        self, signed: SignedIn, code: str, *, client_ip: str | None = None
    ) -> SignedIn:
        """Check the TOTP code of a ``pending_totp`` session; the session then admits fully."""
        user = self.store.get_user(signed.user.username)
        if not signed.session.pending_totp or not user.totp_secret:
            raise InvalidInput("this session is not waiting for a code")
        if user.locked(self.clock.now()):
            self.store.delete_session(signed.session.id)
            raise AuthError("this account is locked after too many failed sign-ins; try later")
        step = totp.matching_step(user.totp_secret, code, self.clock.now())
        if step is None or not self.store.use_totp_step(user.username, step):
            self._failure(user, client_ip, "wrong_code")
            raise AuthError("wrong or already used code")
        user = self.store.update_user(
            user.username, failed_logins=0, locked_until=None, last_login_at=self.clock.now()
        )
        self.store.update_session(signed.session.id, pending_totp=False)
        self._audit(user, "web.sign_in", client_ip, factor="totp")
        return SignedIn(user, self.store.get_session(token_digest(signed.token)) or signed.session)

    def session(self, token: str) -> SignedIn:
        """The live session of a cookie token, or AuthError (expired, idle, unknown)."""
        if not token or len(token) > 200:
            raise AuthError("not signed in")
        found = self.store.get_session(token_digest(token))
        now = self.clock.now()
        if found is None:
            raise AuthError("not signed in")
        if found.idle_expired(now, self.policy.idle):
            self.store.delete_session(found.id)
            raise AuthError("your session has expired; sign in again")
        try:
            user = self.store.get_user_by_id(found.user_id)
        except NotFound:
            raise AuthError("not signed in") from None
        if user.disabled or user.locked(now):
            self.store.delete_session(found.id)
            raise AuthError("not signed in")
        if now - found.last_seen_at >= _TOUCH_EVERY:
            self.store.update_session(found.id, last_seen_at=now)
        return SignedIn(user, found, token)

    def sign_out(self, signed: SignedIn, *, client_ip: str | None = None) -> None:
        self.store.delete_session(signed.session.id)
        self._audit(signed.user, "web.sign_out", client_ip)

    # --- second factor enrolment ---------------------------------------------------------

    def totp_uri(self, user: User, secret: str) -> str:
        return totp.provisioning_uri(secret, user.username, self.policy.totp_issuer)

    def enrol_totp(self, user: User, secret: str, code: str) -> User:
        """Turn the second factor on once the person showed a code from ``secret``."""
        if len(secret) < 26 or not secret.isalnum():
            raise InvalidInput("malformed second-factor secret")
        step = totp.matching_step(secret, code, self.clock.now())
        if step is None:
            raise InvalidInput("that code does not match; check the time on your device")
        return self.store.update_user(user.username, totp_secret=secret, totp_last_step=step)

    def remove_totp(self, username: str) -> User:
        return self.store.update_user(username, totp_secret=None, totp_last_step=None)

    # --- inside ------------------------------------------------------------------------

    def _open(self, user: User, client_ip: str | None, *, pending_totp: bool) -> SignedIn:
        now = self.clock.now()
        self.store.purge_sessions(now)  # expired sessions go at the next sign-in (indexed)
        token = secrets.token_urlsafe(32)
        session = self.store.add_session(
            WebSession(
                id=0,
                user_id=user.id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
                expires_at=now + self.policy.max_age,
                pending_totp=pending_totp,
                client_ip=client_ip,
                review_since=now,
            ),
            token_digest(token),
        )
        if not pending_totp:
            self._audit(user, "web.sign_in", client_ip)
        return SignedIn(user, session, token)

    def _failure(self, user: User, client_ip: str | None, reason: str) -> None:
        now = self.clock.now()
        after = self.store.record_failure(
            user.username, lock_at=self.policy.lock_at, lock_until=now + self.policy.lock_for
        )
        self._refused(user, client_ip, reason, failures=after.failed_logins)
        if after.failed_logins == self.policy.lock_at:
            self._audit(user, "web.lockout", client_ip, outcome="refused", until=after.locked_until)

    def _refused(
        self, user: User | None, client_ip: str | None, reason: str, **details: Any
    ) -> None:
        if user is not None:
            self._audit(user, "web.sign_in", client_ip, outcome="refused", reason=reason, **details)
            return
        # No principal to act as: written as "anonymous", never as the command line.
        self.auth.audit_log.record(
            AuditRecord(
                at=self.clock.now(),
                action="web.sign_in",
                actor="anonymous",
                client_ip=client_ip,
                target=str(details.get("username", ""))[:64],
                outcome="refused",
                details={"reason": reason},
            )
        )

    def _audit(
        self, user: User, action: str, client_ip: str | None, *, outcome: str = "ok", **details: Any
    ) -> None:
        clean = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in details.items()}
        self.auth.audit(
            action,
            principal=user.principal(),
            client_ip=client_ip,
            target=user.username,
            outcome=outcome,
            **clean,
        )
