"""The auth service: issue, check and revoke API keys, and write the audit log.

Checking a key (:meth:`AuthService.authenticate`):

1. read the token's shape (``kd_<id>_<secret>``), else AuthError "malformed";
2. find the stored key by its public id (a short-lived cache spares the database on busy
   endpoints; a revocation made through this service clears it at once, one made by another
   process is seen within ``auth_cache_seconds``);
3. compare digests in constant time, then refuse a revoked or expired key;
4. answer with the :class:`Principal` the request acts as.

Every refusal is the same :class:`AuthError` class with a reason a caller can act on; an
unknown key id and a wrong secret give the same message, so ids cannot be probed.

Auditing is write-ahead (:meth:`AuthService.audited`): the record is stored with outcome
``started`` before the action runs, so an action whose record cannot be written never runs,
and the outcome (``ok``, ``failed``, ``refused``) is settled when it ends. The action and
its record are two transactions, not one: the stores of each domain own their transactions,
and write-ahead gives the guarantee that matters (no action without a record) without a
cross-domain unit of work.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from keepdown.auth import keys
from keepdown.auth.model import ApiKey, AuditRecord, IssuedKey, Organisation, Principal, Role
from keepdown.auth.redact import RedactedAuditLog
from keepdown.auth.store import AuditLog, AuthStore
from keepdown.clock import Clock, SystemClock
from keepdown.errors import AuthError, Conflict, Forbidden, InvalidInput, KeepdownError, NotFound

__all__ = ["AuthService"]


class AuthService:
    """Organisations, keys and the audit log, over an AuthStore and an AuditLog."""

    def __init__(
        self,
        store: AuthStore,
        audit: AuditLog,
        *,
        clock: Clock | None = None,
        cache_seconds: float = 5.0,
        refusals_per_minute: int = 600,
    ) -> None:
        self.store = store
        # Every record goes through redaction, whoever writes it (keepdown/auth/redact.py).
        self.audit_log: AuditLog = RedactedAuditLog(audit)
        self.clock = clock or SystemClock()
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKey]] = {}
        self.refusals_per_minute = refusals_per_minute
        self._lock = threading.Lock()
        self._refusal_minute = -1
        self._refusals = 0

    # --- organisations -------------------------------------------------------------------

    def add_organisation(self, name: str) -> Organisation:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("organisation name must be 1 to 200 characters", name=name[:50])
        return self.store.add_organisation(name, self.clock.now())

    def ensure_organisation(self, name: str) -> Organisation:
        """The organisation called ``name``, created if missing (idempotent: two processes
        creating it at once both get the one row)."""
        try:
            return self.store.get_organisation(name)
        except NotFound:
            pass
        try:
            return self.add_organisation(name)
        except Conflict:
            return self.store.get_organisation(name)

    # --- keys ----------------------------------------------------------------------------

    def issue_key(
        self,
        organisation: str,
        role: Role | str,
        *,
        expires_in: timedelta | None = None,
        label: str = "",
    ) -> IssuedKey:
        """A new key for ``organisation``; its token is in the answer and nowhere else."""
        org = self.store.get_organisation(organisation)
        now = self.clock.now()
        token = keys.new_token()
        key = ApiKey(
            key_id=token.key_id,
            organisation=org.name,
            role=Role(role),
            secret_sha256=keys.digest(token),
            created_at=now,
            expires_at=now + expires_in if expires_in else None,
            label=label,
        )
        self.store.add_key(key)
        return IssuedKey(key=key, token=str(token))

    def revoke_key(self, key_id: str) -> ApiKey:
        key = self.store.revoke_key(key_id, self.clock.now())
        with self._lock:
            self._cache.pop(key_id, None)
        return key

    def list_keys(self, organisation: str | None = None) -> list[ApiKey]:
        return self.store.list_keys(organisation)

    def authenticate(self, token: str) -> Principal:
        """Who ``token`` belongs to, or AuthError (see the module docstring for the steps)."""
        parsed = _parsed(token)
        return self._check(parsed, self._lookup(parsed.key_id))

    def authenticate_cached(self, token: str) -> Principal | None:
        """As :meth:`authenticate` when the key is in the cache, else None (no store read).

        The API calls this on its event loop and only goes to a worker thread (and the
        database) on a miss, so a busy endpoint never waits on storage for a known key."""
        parsed = _parsed(token)
        cached = self._cached(parsed.key_id)
        return None if cached is None else self._check(parsed, cached)

    def _check(self, token: keys.KeyToken, key: ApiKey | None) -> Principal:
        if key is None or not keys.verify(token, key.secret_sha256):
            raise AuthError("the API key is not valid")
        if key.revoked:
            raise AuthError("the API key has been revoked", key_id=key.key_id)
        if key.expired(self.clock.now()):
            raise AuthError("the API key has expired", key_id=key.key_id)
        return Principal(key_id=key.key_id, organisation=key.organisation, role=key.role)

    def authorize(self, principal: Principal, allowed: frozenset[Role]) -> None:
        """Forbidden unless the principal's role is one of ``allowed``."""
        if principal.role not in allowed:
            raise Forbidden(
                f"role {principal.role.value!r} may not do this",
                allowed=sorted(r.value for r in allowed),
            )

    def _cached(self, key_id: str) -> ApiKey | None:
        with self._lock:
            cached = self._cache.get(key_id)
        if cached is not None and self.clock.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        return None

    def _lookup(self, key_id: str) -> ApiKey | None:
        cached = self._cached(key_id)
        if cached is not None:
            return cached
        try:
            key = self.store.get_key(key_id)
        except NotFound:
            return None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_id] = (self.clock.monotonic(), key)
        return key

    # --- bank shares ---------------------------------------------------------------------

    def share_bank(self, bank: str, organisation: str) -> None:
        self.store.share_bank(bank, organisation, self.clock.now())

    def unshare_bank(self, bank: str, organisation: str) -> None:
        if not self.store.unshare_bank(bank, organisation):
            raise NotFound(
                f"bank {bank!r} is not shared with {organisation!r}",
                bank=bank,
                organisation=organisation,
            )

    def bank_shares(self, bank: str) -> list[str]:
        return self.store.bank_shares(bank)

    def banks_shared_with(self, organisation: str) -> frozenset[str]:
        return self.store.banks_shared_with(organisation)

    # --- audit ---------------------------------------------------------------------------

    def audit(
        self,
        action: str,
        *,
        principal: Principal | None = None,
        client_ip: str | None = None,
        target: str = "",
        outcome: str = "ok",
        **details: Any,
    ) -> AuditRecord:
        """Record one action that already ended; with no principal the actor is the CLI."""
        record = self._record(action, principal, client_ip, target, outcome, details)
        return dataclasses.replace(record, id=self.audit_log.record(record))

    def begin_audit(
        self,
        action: str,
        *,
        principal: Principal | None = None,
        client_ip: str | None = None,
        target: str = "",
        **details: Any,
    ) -> AuditRecord:
        """Write the ``started`` record of an action about to run (before it runs)."""
        return self.audit(
            action,
            principal=principal,
            client_ip=client_ip,
            target=target,
            outcome="started",
            **details,
        )

    def settle_audit(
        self, record: AuditRecord, error: BaseException | None = None, **details: Any
    ) -> None:
        """Set the outcome of a started record: ok, refused (AuthError) or failed."""
        outcome, extra = _outcome(error)
        assert record.id is not None
        self.audit_log.settle(record.id, outcome, {**details, **extra})

    @contextlib.contextmanager
    def audited(
        self,
        action: str,
        *,
        principal: Principal | None = None,
        client_ip: str | None = None,
        target: str = "",
        **details: Any,
    ) -> Iterator[dict[str, Any]]:
        """Run the ``with`` block as one audited action (write-ahead, then settled): the one
        audit wrapper of the CLI and the web pages (the API's async twin, ``keepdown.api.deps.
        audited``, runs the same two steps in worker threads).

        The block may put result details (counts) into the dict it is given."""
        record = self.begin_audit(
            action, principal=principal, client_ip=client_ip, target=target, **details
        )
        found: dict[str, Any] = {}
        try:
            yield found
        except BaseException as exc:
            self.settle_audit(record, exc, **found)
            raise
        self.settle_audit(record, **found)

    def record_refusal(
        self, error: AuthError, *, target: str, key_id: str | None, client_ip: str | None
    ) -> bool:
        """Record a refused (401/403) request; False when over ``refusals_per_minute``.

        The cap keeps a flood of bad keys from flooding the log; the API counts every refusal
        in its metrics whatever the cap."""
        minute = int(self.clock.monotonic() // 60)
        with self._lock:
            if minute != self._refusal_minute:
                self._refusal_minute, self._refusals = minute, 0
            self._refusals += 1
            if self.refusals_per_minute and self._refusals > self.refusals_per_minute:
                return False
        self.audit_log.record(
            AuditRecord(
                at=self.clock.now(),
                action="auth.refused",
                actor=key_id or "anonymous",
                client_ip=client_ip,
                target=target,
                outcome="refused",
                details={"error": error.code, "reason": error.message},
            )
        )
        return True

    def _record(
        self,
        action: str,
        principal: Principal | None,
        client_ip: str | None,
        target: str,
        outcome: str,
        details: dict[str, Any],
    ) -> AuditRecord:
        return AuditRecord(
            at=self.clock.now(),
            action=action,
            actor=principal.key_id if principal else "cli",
            organisation=principal.organisation if principal else None,
            role=principal.role.value if principal else None,
            client_ip=client_ip,
            target=target,
            outcome=outcome,
            details=details,
        )


def _outcome(error: BaseException | None) -> tuple[str, dict[str, Any]]:
    if error is None:
        return "ok", {}
    if isinstance(error, AuthError):
        return "refused", {"error": error.code}
    if isinstance(error, KeepdownError):
        return "failed", {"error": error.code}
    return "failed", {"error": "internal_error"}


def _parsed(token: str) -> keys.KeyToken:
    """A token checked for shape once: one read from a header is already a ``KeyToken``."""
    return token if isinstance(token, keys.KeyToken) else keys.parse_token(token)
