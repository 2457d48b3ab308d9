"""What the auth service needs from storage, and the in-memory twin used by tests.

:class:`AuthStore` keeps organisations, API keys and bank shares (which organisations may read
a bank besides its owner); :class:`AuditLog` appends audit records and settles their outcome.
``keepdown.storage.auth_store`` implements both on SQL; :class:`InMemoryAuthStore` implements
both in memory with the same behaviour (Conflict on a duplicate, NotFound on a missing name).
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime
from typing import Any, Protocol

from keepdown.auth.model import ApiKey, AuditRecord, Organisation
from keepdown.errors import Conflict, NotFound

__all__ = ["AuditLog", "AuthStore", "InMemoryAuthStore"]


class AuthStore(Protocol):
    """Organisations, API keys and bank shares."""

    def add_organisation(self, name: str, now: datetime) -> Organisation:
        """Store a new organisation; Conflict if the name is taken."""
        ...

    def get_organisation(self, name: str) -> Organisation:
        """The organisation called ``name``; NotFound otherwise."""
        ...

    def list_organisations(self) -> list[Organisation]: ...

    def add_key(self, key: ApiKey) -> None:
        """Store a key; NotFound if its organisation does not exist."""
        ...

    def get_key(self, key_id: str) -> ApiKey:
        """The key with this id; NotFound otherwise."""
        ...

    def list_keys(self, organisation: str | None = None) -> list[ApiKey]: ...

    def revoke_key(self, key_id: str, now: datetime) -> ApiKey:
        """Mark a key revoked (idempotent: the first revocation time stays)."""
        ...

    def share_bank(self, bank: str, organisation: str, now: datetime) -> None:
        """Let ``organisation`` read ``bank`` (idempotent); NotFound if either is missing."""
        ...

    def unshare_bank(self, bank: str, organisation: str) -> bool:
        """Withdraw a share; False if there was none."""
        ...

    def bank_shares(self, bank: str) -> list[str]:
        """The organisations ``bank`` is shared with, by name."""
        ...

    def banks_shared_with(self, organisation: str) -> frozenset[str]:
        """The names of the banks shared with ``organisation``."""
        ...


class AuditLog(Protocol):
    """Append-only record of privileged actions; only a ``started`` outcome is ever settled."""

    def record(self, entry: AuditRecord) -> int:
        """Append ``entry``; its new id."""
        ...

    def settle(self, record_id: int, outcome: str, details: dict[str, Any]) -> None:
        """Set the outcome of a ``started`` record (and merge ``details`` into its own)."""
        ...

    def list_records(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        organisation: str | None = None,
        before: int | None = None,
    ) -> list[AuditRecord]:
        """Newest first; ``organisation`` keeps that organisation's actors' records only and
        ``before`` those with a smaller id (the next page)."""
        ...


class InMemoryAuthStore:
    """Both protocols in memory (thread-safe: the API serves from a thread pool)."""

    def __init__(self) -> None:
        self._orgs: dict[str, Organisation] = {}
        self._keys: dict[str, ApiKey] = {}
        self._audit: list[AuditRecord] = []
        self._shares: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def add_organisation(self, name: str, now: datetime) -> Organisation:
        with self._lock:
            if name in self._orgs:
                raise Conflict(f"organisation {name!r} already exists", organisation=name)
            org = Organisation(id=len(self._orgs) + 1, name=name, created_at=now)
            self._orgs[name] = org
            return org

    def get_organisation(self, name: str) -> Organisation:
        try:
            return self._orgs[name]
        except KeyError:
            raise NotFound(f"no organisation named {name!r}", organisation=name) from None

    def list_organisations(self) -> list[Organisation]:
        return sorted(self._orgs.values(), key=lambda o: o.name)

    def add_key(self, key: ApiKey) -> None:
        self.get_organisation(key.organisation)
        with self._lock:
            if key.key_id in self._keys:
                raise Conflict("key id already exists", key_id=key.key_id)
            self._keys[key.key_id] = key

    def get_key(self, key_id: str) -> ApiKey:
        try:
            return self._keys[key_id]
        except KeyError:
            raise NotFound(f"no API key {key_id!r}", key_id=key_id) from None

    def list_keys(self, organisation: str | None = None) -> list[ApiKey]:
        keys = [k for k in self._keys.values() if organisation in (None, k.organisation)]
        return sorted(keys, key=lambda k: (k.created_at, k.key_id))

    def revoke_key(self, key_id: str, now: datetime) -> ApiKey:
        with self._lock:
            key = self.get_key(key_id)
            if key.revoked_at is None:
                key = dataclasses.replace(key, revoked_at=now)
                self._keys[key_id] = key
            return key

    def share_bank(self, bank: str, organisation: str, now: datetime) -> None:
        self.get_organisation(organisation)
        with self._lock:
            self._shares.setdefault(bank, set()).add(organisation)

    def unshare_bank(self, bank: str, organisation: str) -> bool:
        with self._lock:
            shared = self._shares.get(bank, set())
            found = organisation in shared
            shared.discard(organisation)
            return found

    def bank_shares(self, bank: str) -> list[str]:
        return sorted(self._shares.get(bank, set()))

    def banks_shared_with(self, organisation: str) -> frozenset[str]:
        return frozenset(b for b, orgs in self._shares.items() if organisation in orgs)

    def record(self, entry: AuditRecord) -> int:
        with self._lock:
            record_id = len(self._audit) + 1
            self._audit.append(dataclasses.replace(entry, id=record_id))
            return record_id

    def settle(self, record_id: int, outcome: str, details: dict[str, Any]) -> None:
        with self._lock:
            entry = self._audit[record_id - 1]
            if entry.outcome == "started":
                merged = {**entry.details, **details}
                self._audit[record_id - 1] = dataclasses.replace(
                    entry, outcome=outcome, details=merged
                )

    def list_records(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        organisation: str | None = None,
        before: int | None = None,
    ) -> list[AuditRecord]:
        found = [
            r
            for r in reversed(self._audit)
            if action in (None, r.action)
            and organisation in (None, r.organisation)
            and (before is None or (r.id or 0) < before)
        ]
        return found[:limit]
