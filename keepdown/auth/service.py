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
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from keepdown.auth import keys
from keepdown.auth.model import ApiKey, AuditRecord, IssuedKey, Organisation, Principal, Role
from keepdown.auth.store import AuditLog, AuthStore
from keepdown.clock import Clock, SystemClock
from keepdown.errors import AuthError, Forbidden, InvalidInput, NotFound

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
    ) -> None:
        self.store = store
        self.audit_log = audit
        self.clock = clock or SystemClock()
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKey]] = {}
        self._lock = threading.Lock()

    # --- organisations -------------------------------------------------------------------

    def add_organisation(self, name: str) -> Organisation:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("organisation name must be 1 to 200 characters", name=name[:50])
        return self.store.add_organisation(name, self.clock.now())

    def ensure_organisation(self, name: str) -> Organisation:
        """The organisation called ``name``, created if missing (idempotent, for the demo)."""
        try:
            return self.store.get_organisation(name)
        except NotFound:
            return self.add_organisation(name)

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
        parsed = keys.parse_token(token)
        key = self._lookup(parsed.key_id)
        if key is None or not keys.verify(parsed, key.secret_sha256):
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

    def _lookup(self, key_id: str) -> ApiKey | None:
        mono = self.clock.monotonic()
        with self._lock:
            cached = self._cache.get(key_id)
        if cached is not None and mono - cached[0] < self.cache_seconds:
            return cached[1]
        try:
            key = self.store.get_key(key_id)
        except NotFound:
            return None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_id] = (mono, key)
        return key

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
        """Record one privileged action; with no principal the actor is the command line."""
        record = AuditRecord(
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
        self.audit_log.record(record)
        return record
