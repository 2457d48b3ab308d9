"""Signing people in and out: passwords, throttling, second factor, sessions.

:meth:`SignIn.sign_in` (the password step):

1. ask the throttle (:mod:`keepdown.auth.throttle`) whether this attempt may be checked at
   all: too many failures from the client's address, or for the name from a device not
   trusted for it, is a RateLimited refusal *before* any password is checked, the same for
   an existing and an unknown name (its first refusal in a window is audited,
   ``web.sign_in_throttled``; the rest are not, so a flood writes no rows);
2. find the user; an unknown name still costs one Argon2 verification and gets the same
   message as a wrong password, so names cannot be probed;
3. verify the password (a disabled account is checked and refused like a wrong password);
   a failure is counted against the client, the name and the device, and audited;
4. success rehashes a hash made with older parameters, opens a session and gives the browser
   a device token for the name. With a second factor the session is ``pending_totp`` and
   admits to nothing but :meth:`SignIn.second_factor` (a wrong code counts as a failure; a
   code is usable once; the device token comes after the code).

Failures never lock an account nor end its sessions: someone guessing cannot keep its owner
out (their own devices are trusted) nor sign them out. Changing one's password or second
factor asks for the current password (:meth:`SignIn.confirm_password`); a session that gets
it wrong ``session_failures`` times is ended.

:meth:`SignIn.session` checks a cookie's token on every request: known, not past its absolute
expiry (``max_age``) nor idle for ``idle``, its user not disabled.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from keepdown.auth import totp
from keepdown.auth.attempts import MemoryAttempts
from keepdown.auth.devices import DeviceTokens
from keepdown.auth.model import AuditRecord, Role
from keepdown.auth.passwords import Passwords, check_password
from keepdown.auth.people import User, UserStore, WebSession, check_username
from keepdown.auth.service import AuthService
from keepdown.auth.throttle import SignInThrottle, ThrottlePolicy
from keepdown.errors import AuthError, InvalidInput, NotFound, RateLimited

__all__ = ["SignIn", "SignInPolicy", "SignedIn"]

_WRONG = "wrong username or password"
_TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class SignInPolicy:
    """Limits of the sign-in (from the ``web_*`` settings). ``lock_at`` failures for a name
    within ``lock_for`` hold it back for untrusted devices (:mod:`keepdown.auth.throttle`)."""

    lock_at: int = 5
    lock_for: timedelta = timedelta(minutes=15)
    idle: timedelta = timedelta(minutes=30)
    max_age: timedelta = timedelta(hours=12)
    min_password_length: int = 12
    totp_issuer: str = "keepdown"
    client_failures: int = 20
    device_failures: int = 10
    session_failures: int = 5
    min_guesses_log10: float = 10.0

    @property
    def throttle(self) -> ThrottlePolicy:
        return ThrottlePolicy(
            per_name=self.lock_at,
            per_client=self.client_failures,
            per_device=self.device_failures,
            per_session=self.session_failures,
            window=self.lock_for,
        )

    @classmethod
    def from_settings(cls, settings: Any) -> SignInPolicy:
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
    """A session and its user; ``token`` is the cookie value (only at sign-in, else "");
    ``device`` the device token to give the browser (once fully signed in, else "")."""

    user: User
    session: WebSession
    token: str = ""
    device: str = ""


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SignIn:
    """See the module docstring."""

    def __init__(
        self,
        store: UserStore,
        auth: AuthService,
        *,
        policy: SignInPolicy | None = None,
        passwords: Passwords | None = None,
        throttle: SignInThrottle | None = None,
        devices: DeviceTokens | None = None,
    ) -> None:
        self.store = store
        self.auth = auth
        self.clock = auth.clock
        self.policy = policy or SignInPolicy()
        self.passwords = passwords or Passwords()
        self.throttle = throttle or SignInThrottle(
            MemoryAttempts(self.clock), self.clock, self.policy.throttle
        )
        self.devices = devices
        self._announced: dict[str, Any] = {}  # throttled key -> until: audited once

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
        self._check_password(password, user.username)
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

    def change_password(
        self, signed: SignedIn, current: str, new: str, *, client_ip: str | None = None
    ) -> User:
        """A new password for the signed-in person, who shows the current one first."""
        self.confirm_password(signed, current, client_ip=client_ip)
        if current == new:
            raise InvalidInput("the new password must differ from the current one")
        return self.set_password(signed.user.username, new)

    def confirm_password(
        self, signed: SignedIn, password: str, *, client_ip: str | None = None
    ) -> None:
        """AuthError unless ``password`` is the signed-in person's; the session ends after
        ``session_failures`` wrong ones (a stolen session cannot guess without limit)."""
        user = self.store.get_user(signed.user.username)
        ok, _ = self.passwords.verify(user.password_hash, password)
        if ok:
            return
        if self.throttle.session_failed(signed.session.id):
            self.store.delete_session(signed.session.id)
            self._audit(user, "web.session_ended", client_ip, outcome="refused", reason="guessing")
            raise AuthError("signed out after too many wrong passwords; sign in again")
        self._audit(user, "web.password_check", client_ip, outcome="refused")
        raise AuthError("the current password is wrong")

    def set_disabled(self, username: str, disabled: bool) -> User:
        user = self.store.update_user(
            check_username(username), disabled_at=self.clock.now() if disabled else None
        )
        if disabled:
            self.store.delete_user_sessions(user.id)
        return user

    def unlock(self, username: str) -> User:
        """Let untrusted devices try ``username`` again at once (an admin's decision)."""
        user = self.store.update_user(username, failed_logins=0, locked_until=None)
        self.throttle.release(user.username)
        return user

    def held_until(self, username: str) -> datetime | None:
        """Until when failures hold ``username`` back for untrusted devices (None: not held)."""
        return self.throttle.held_until(username)

    # --- signing in ----------------------------------------------------------------------

    def sign_in(
        self,
        username: str,
        password: str,
        *,
        client_ip: str | None = None,
        device: str | None = None,
    ) -> SignedIn:
        """Password step (module docstring); AuthError or RateLimited with a message for the
        person. ``device`` is the browser's device token, if it has one."""
        name = username.strip().lower()[:200]
        device_id = self.devices.device(device, name) if self.devices else None
        self._check_throttle(name, client_ip, device_id)
        try:
            user = self.store.get_user(name)
        except (NotFound, InvalidInput):
            self.passwords.burn(password)
            self._failed(None, name, client_ip, device_id, "unknown_user")
            raise AuthError(_WRONG) from None
        ok, rehash = self.passwords.verify(user.password_hash, password)
        if not ok or user.disabled:
            self._failed(user, name, client_ip, device_id, "disabled" if ok else "wrong_password")
            raise AuthError(_WRONG)
        values: dict[str, Any] = {}
        if rehash:
            values["password_hash"] = self.passwords.hash(password)
        if not user.totp_enabled:
            values["last_login_at"] = self.clock.now()
        if values:
            user = self.store.update_user(user.username, **values)
        signed = self._open(user, client_ip, pending_totp=user.totp_enabled)
        if user.totp_enabled:
            return signed
        return replace(signed, device=self._device_token(name, device_id))

    def second_factor(
        self,
        signed: SignedIn,
        code: str,
        *,
        client_ip: str | None = None,
        device: str | None = None,
    ) -> SignedIn:
        """Check the TOTP code of a ``pending_totp`` session; the session then admits fully."""
        user = self.store.get_user(signed.user.username)
        if not signed.session.pending_totp or not user.totp_secret:
            raise InvalidInput("this session is not waiting for a code")
        device_id = self.devices.device(device, user.username) if self.devices else None
        try:
            self._check_throttle(user.username, client_ip, device_id)
        except RateLimited:
            self.store.delete_session(signed.session.id)
            raise
        step = totp.matching_step(user.totp_secret, code, self.clock.now())
        if step is None or not self.store.use_totp_step(user.username, step):
            self._failed(user, user.username, client_ip, device_id, "wrong_code")
            raise AuthError("wrong or already used code")
        user = self.store.update_user(user.username, last_login_at=self.clock.now())
        self.store.update_session(signed.session.id, pending_totp=False)
        self._audit(user, "web.sign_in", client_ip, factor="totp")
        session = self.store.get_session(token_digest(signed.token)) or signed.session
        return SignedIn(user, session, device=self._device_token(user.username, device_id))

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
        if user.disabled:
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

    def enrol_totp(
        self,
        signed: SignedIn,
        secret: str,
        code: str,
        password: str,
        *,
        client_ip: str | None = None,
    ) -> User:
        """Turn the second factor on (or replace it) once the person gave their password and
        showed a code from ``secret``."""
        if len(secret) < 26 or not secret.isalnum():
            raise InvalidInput("malformed second-factor secret")
        self.confirm_password(signed, password, client_ip=client_ip)
        step = totp.matching_step(secret, code, self.clock.now())
        if step is None:
            raise InvalidInput("that code does not match; check the time on your device")
        return self.store.update_user(signed.user.username, totp_secret=secret, totp_last_step=step)

    def remove_own_totp(
        self, signed: SignedIn, password: str, *, client_ip: str | None = None
    ) -> User:
        """The person turns their second factor off, giving their password."""
        self.confirm_password(signed, password, client_ip=client_ip)
        return self.remove_totp(signed.user.username)

    def remove_totp(self, username: str) -> User:
        """Remove a person's second factor (an admin's action, or :meth:`remove_own_totp`)."""
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

    def _check_password(self, password: str, username: str) -> None:
        check_password(
            password,
            username=username,
            min_length=self.policy.min_password_length,
            min_guesses_log10=self.policy.min_guesses_log10,
        )

    def _check_throttle(self, name: str, client_ip: str | None, device_id: str | None) -> None:
        """Step 1; the first refusal of each throttled key in a window is audited."""
        try:
            self.throttle.check(name, client_ip, device_id)
        except RateLimited as exc:
            scope = str(exc.details.get("scope", ""))
            key = f"{scope}:{client_ip if scope == 'client' else name}"
            now = self.clock.now()
            if self._announced.get(key, now) <= now:
                if len(self._announced) > 10_000:
                    self._announced.clear()
                self._announced[key] = now + self.policy.lock_for
                self._refused(None, client_ip, "throttled", username=name, scope=scope)
            raise

    def _failed(
        self,
        user: User | None,
        name: str,
        client_ip: str | None,
        device_id: str | None,
        reason: str,
    ) -> None:
        self.throttle.failed(name, client_ip, device_id)
        self._refused(user, client_ip, reason, username=name)

    def _device_token(self, name: str, device_id: str | None) -> str:
        return self.devices.issue(name, device_id) if self.devices else ""

    def _refused(
        self, user: User | None, client_ip: str | None, reason: str, **details: Any
    ) -> None:
        name = str(details.pop("username", ""))[:64]
        if user is not None:
            self._audit(user, "web.sign_in", client_ip, outcome="refused", reason=reason, **details)
            return
        # No principal to act as: written as "anonymous", never as the command line.
        self.auth.audit_log.record(
            AuditRecord(
                at=self.clock.now(),
                action="web.sign_in_throttled" if reason == "throttled" else "web.sign_in",
                actor="anonymous",
                client_ip=client_ip,
                target=name,
                outcome="refused",
                details={"reason": reason, **details},
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
