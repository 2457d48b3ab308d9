"""The auth stores on SQL: organisations, API keys and the audit log.

Implements :class:`keepdown.auth.store.AuthStore` and :class:`keepdown.auth.store.AuditLog`
with SQLAlchemy Core on the tables in :mod:`keepdown.storage.tables_access` and the bank
shares of :mod:`keepdown.storage.tables_banks` (migration 0002). The organisations table is
shared with banks (a bank's owner is an organisation); bank shares name a bank and an
organisation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from keepdown.auth.model import ApiKey, AuditRecord, Organisation, Role
from keepdown.errors import Conflict, NotFound, StorageError
from keepdown.storage.engine import inserted_id
from keepdown.storage.tables_access import api_keys, audit_log, organisations
from keepdown.storage.tables_banks import bank_shares, banks

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
                new_id = inserted_id(
                    conn.execute(organisations.insert().values(name=name, created_at=now))
                )
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

    # --- bank shares ---------------------------------------------------------------------

    def _bank_id(self, name: str) -> int:
        row = self._one(select(banks.c.id).where(banks.c.name == name))
        if row is None:
            raise NotFound(f"no bank named {name!r}", bank=name)
        return int(row.id)

    def share_bank(self, bank: str, organisation: str, now: datetime) -> None:
        bank_id, org = self._bank_id(bank), self.get_organisation(organisation)
        try:
            with self.engine.begin() as conn:
                found = conn.execute(
                    select(bank_shares.c.id).where(
                        bank_shares.c.bank_id == bank_id,
                        bank_shares.c.organisation_id == org.id,
                    )
                ).first()
                if found is None:
                    conn.execute(
                        bank_shares.insert().values(
                            bank_id=bank_id, organisation_id=org.id, created_at=now
                        )
                    )
        except IntegrityError:
            return  # shared by a concurrent call: the same end state
        except SQLAlchemyError as exc:
            raise StorageError(f"could not share the bank: {exc}") from exc

    def unshare_bank(self, bank: str, organisation: str) -> bool:
        org_ids = select(organisations.c.id).where(organisations.c.name == organisation)
        bank_ids = select(banks.c.id).where(banks.c.name == bank)
        try:
            with self.engine.begin() as conn:
                done = conn.execute(
                    delete(bank_shares).where(
                        bank_shares.c.bank_id.in_(bank_ids),
                        bank_shares.c.organisation_id.in_(org_ids),
                    )
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"could not withdraw the share: {exc}") from exc
        return bool(done.rowcount)

    def bank_shares(self, bank: str) -> list[str]:
        query = (
            select(organisations.c.name)
            .join(bank_shares, bank_shares.c.organisation_id == organisations.c.id)
            .join(banks, banks.c.id == bank_shares.c.bank_id)
            .where(banks.c.name == bank)
            .order_by(organisations.c.name)
        )
        return [r.name for r in self._all(query)]

    def banks_shared_with(self, organisation: str) -> frozenset[str]:
        query = (
            select(banks.c.name)
            .join(bank_shares, bank_shares.c.bank_id == banks.c.id)
            .join(organisations, organisations.c.id == bank_shares.c.organisation_id)
            .where(organisations.c.name == organisation)
        )
        return frozenset(r.name for r in self._all(query))

    # --- audit log -----------------------------------------------------------------------

    def record(self, entry: AuditRecord) -> int:
        try:
            with self.engine.begin() as conn:
                new_id = inserted_id(
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
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"could not write the audit log: {exc}") from exc
        return int(new_id)

    def settle(self, record_id: int, outcome: str, details: dict[str, Any]) -> None:
        try:
            with self.engine.begin() as conn:
                row = conn.execute(
                    select(audit_log.c.details).where(
                        audit_log.c.id == record_id, audit_log.c.outcome == "started"
                    )
                ).first()
                if row is None:
                    return
                conn.execute(
                    update(audit_log)
                    .where(audit_log.c.id == record_id)
                    .values(outcome=outcome, details={**(row.details or {}), **details})
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"could not settle the audit record: {exc}") from exc

    def list_records(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        organisation: str | None = None,
        before: int | None = None,
    ) -> list[AuditRecord]:
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if action is not None:
            query = query.where(audit_log.c.action == action)
        if organisation is not None:
            query = query.where(audit_log.c.organisation == organisation)
        if before is not None:
            query = query.where(audit_log.c.id < before)
        return [
            AuditRecord(
                id=r.id,
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
