"""What the auth service needs from storage, and the in-memory twin used by tests.

:class:`AuthStore` keeps organisations and API keys; :class:`AuditLog` appends audit records.
``keepdown.storage.auth_store`` implements both on SQL; :class:`InMemoryAuthStore` implements
both in memory with the same behaviour (Conflict on a duplicate, NotFound on a missing name).
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime
from typing import Protocol

from keepdown.auth.model import ApiKey, AuditRecord, Organisation
from keepdown.errors import Conflict, NotFound

__all__ = ["AuditLog", "AuthStore", "InMemoryAuthStore"]


class AuthStore(Protocol):
    """Organisations and API keys."""

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


class AuditLog(Protocol):
    """Append-only record of privileged actions."""

    def record(self, entry: AuditRecord) -> None: ...

    def list_records(self, *, limit: int = 100, action: str | None = None) -> list[AuditRecord]:
        """Newest first."""
        ...


class InMemoryAuthStore:
    """Both protocols in memory (thread-safe: the API serves from a thread pool)."""

    def __init__(self) -> None:
        self._orgs: dict[str, Organisation] = {}
        self._keys: dict[str, ApiKey] = {}
        self._audit: list[AuditRecord] = []
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

    def record(self, entry: AuditRecord) -> None:
        with self._lock:
            self._audit.append(entry)

    def list_records(self, *, limit: int = 100, action: str | None = None) -> list[AuditRecord]:
        found = [r for r in reversed(self._audit) if action in (None, r.action)]
        return found[:limit]
