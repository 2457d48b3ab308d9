"""The auth stores on SQL: organisations, API keys and the audit log.

Implements :class:`keepdown.auth.store.AuthStore` and :class:`keepdown.auth.store.AuditLog`
with SQLAlchemy Core on the tables in :mod:`keepdown.storage.schema` (migration 0002). The
organisations table is shared with banks (a bank's owner is an organisation).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from keepdown.auth.model import ApiKey, AuditRecord, Organisation, Role
from keepdown.errors import Conflict, NotFound, StorageError
from keepdown.storage.schema import api_keys, audit_log, organisations

__all__ = ["SqlAuthStore"]

_KEY_COLUMNS = (
    api_keys.c.key_id,
    organisations.c.name,
    api_keys.c.role,
    api_keys.c.secret_sha256,
    api_keys.c.created_at,
    api_keys.c.expires_at,
    api_keys.c.revoked_at,
    api_keys.c.label,
)


def _key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        organisation=row.name,
        role=Role(row.role),
        secret_sha256=row.secret_sha256,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        label=row.label,
    )


class SqlAuthStore:
    """Organisations, keys and audit records in the keepdown database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_organisation(self, name: str, now: datetime) -> Organisation:
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(
                    organisations.insert().values(name=name, created_at=now)
                ).inserted_primary_key[0]
        except IntegrityError as exc:
            raise Conflict(f"organisation {name!r} already exists", organisation=name) from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"could not store organisation: {exc}") from exc
        return Organisation(id=int(new_id), name=name, created_at=now)

    def get_organisation(self, name: str) -> Organisation:
        row = self._one(select(organisations).where(organisations.c.name == name))
        if row is None:
            raise NotFound(f"no organisation named {name!r}", organisation=name)
        return Organisation(id=row.id, name=row.name, created_at=row.created_at)

    def list_organisations(self) -> list[Organisation]:
        rows = self._all(select(organisations).order_by(organisations.c.name))
        return [Organisation(id=r.id, name=r.name, created_at=r.created_at) for r in rows]

    def add_key(self, key: ApiKey) -> None:
        org = self.get_organisation(key.organisation)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    api_keys.insert().values(
                        key_id=key.key_id,
                        organisation_id=org.id,
                        role=key.role.value,
                        secret_sha256=key.secret_sha256,
                        label=key.label,
                        created_at=key.created_at,
                        expires_at=key.expires_at,
                        revoked_at=key.revoked_at,
                    )
                )
        except IntegrityError as exc:
            raise Conflict("key id already exists", key_id=key.key_id) from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"could not store API key: {exc}") from exc

    def _keys_query(self):  # type: ignore[no-untyped-def]
        return select(*_KEY_COLUMNS).join(
            organisations, organisations.c.id == api_keys.c.organisation_id
        )

    def get_key(self, key_id: str) -> ApiKey:
        row = self._one(self._keys_query().where(api_keys.c.key_id == key_id))
        if row is None:
            raise NotFound(f"no API key {key_id!r}", key_id=key_id)
        return _key(row)

    def list_keys(self, organisation: str | None = None) -> list[ApiKey]:
        query = self._keys_query().order_by(api_keys.c.created_at, api_keys.c.key_id)
        if organisation is not None:
            query = query.where(organisations.c.name == organisation)
        return [_key(r) for r in self._all(query)]

    def revoke_key(self, key_id: str, now: datetime) -> ApiKey:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    api_keys.update()
                    .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"could not revoke API key: {exc}") from exc
        return self.get_key(key_id)

    def record(self, entry: AuditRecord) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    audit_log.insert().values(
                        at=entry.at,
                        action=entry.action,
                        actor=entry.actor,
                        organisation=entry.organisation,
                        role=entry.role,
                        client_ip=entry.client_ip,
                        target=entry.target[:500],
                        outcome=entry.outcome,
                        details=entry.details,
                    )
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"could not write the audit log: {exc}") from exc

    def list_records(self, *, limit: int = 100, action: str | None = None) -> list[AuditRecord]:
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if action is not None:
            query = query.where(audit_log.c.action == action)
        return [
            AuditRecord(
                at=r.at,
                action=r.action,
                actor=r.actor,
                organisation=r.organisation,
                role=r.role,
                client_ip=r.client_ip,
                target=r.target,
                outcome=r.outcome,
                details=dict(r.details or {}),
            )
            for r in self._all(query)
        ]

    def _one(self, query: Any) -> Row[Any] | None:
        try:
            with self.engine.connect() as conn:
                return conn.execute(query).first()
        except SQLAlchemyError as exc:
            raise StorageError(f"database read failed: {exc}") from exc

    def _all(self, query: Any) -> list[Row[Any]]:
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(query))
        except SQLAlchemyError as exc:
            raise StorageError(f"database read failed: {exc}") from exc
