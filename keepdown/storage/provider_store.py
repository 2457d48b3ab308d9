"""The provider registry on SQL: implements :class:`keepdown.notices.providers.ProviderStore`.

Providers are validated (:func:`~keepdown.notices.providers.validate_provider`) before they
are written; a duplicate name is a :class:`Conflict`. The organisation a provider is linked to
(whose provider-role keys see its notices) must exist. A new plain webhook secret is sealed
with the :class:`~keepdown.notices.sealing.SecretBox` before it is written; rows carry only
the sealed token, and providers read back carry only that (``webhook_secret`` is None).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from keepdown.errors import ConfigurationError, Conflict, NotFound
from keepdown.notices.providers import (
    Channel,
    EscalationTarget,
    Language,
    Meaning,
    Provider,
    validate_provider,
)
from keepdown.notices.sealing import SecretBox
from keepdown.storage.engine import inserted_id, storage_errors
from keepdown.storage.tables_access import organisations
from keepdown.storage.tables_providers import providers

__all__ = ["SqlProviderStore"]


def _provider(row: Row[Any]) -> Provider:
    return Provider(
        id=row.id,
        name=row.name,
        ip_ranges=tuple(row.ip_ranges or ()),
        asns=tuple(int(a) for a in row.asns or ()),
        domains=tuple(row.domains or ()),
        abuse_contacts=tuple(row.abuse_contacts or ()),
        channel=Channel(row.channel),
        webhook_url=row.webhook_url,
        webhook_secret_sealed=row.webhook_secret_sealed,
        language=Language(row.language),
        country=row.country,
        recheck_minutes=row.recheck_minutes,
        renotice_minutes=row.renotice_minutes,
        escalate_minutes=row.escalate_minutes,
        forbidden_means=Meaning(row.forbidden_means),
        unmatched_means=Meaning(row.unmatched_means),
        escalation_target=EscalationTarget(row.escalation_target)
        if row.escalation_target
        else None,
        escalation_contact=row.escalation_contact,
        organisation=row.organisation,
        notes=row.notes,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


_QUERY = select(providers, organisations.c.name.label("organisation")).outerjoin(
    organisations, organisations.c.id == providers.c.organisation_id
)


class SqlProviderStore:
    """Providers in the keepdown database."""

    def __init__(self, engine: Engine, box: SecretBox | None = None) -> None:
        """``box`` seals new webhook secrets; without one the store can read and write
        providers but refuses a new plain secret."""
        self.engine = engine
        self.box = box

    def _sealed(self, p: Provider) -> str | None:
        if p.webhook_secret is None:
            return p.webhook_secret_sealed
        if self.box is None:
            raise ConfigurationError("this provider store has no key to seal webhook secrets")
        return self.box.seal(p.webhook_secret)

    def _values(self, conn: Any, p: Provider) -> dict[str, Any]:
        org_id = None
        if p.organisation:
            org_id = conn.execute(
                select(organisations.c.id).where(organisations.c.name == p.organisation)
            ).scalar()
            if org_id is None:
                raise NotFound(f"no organisation named {p.organisation!r}", field="organisation")
        return {
            "name": p.name,
            "ip_ranges": list(p.ip_ranges),
            "asns": list(p.asns),
            "domains": list(p.domains),
            "abuse_contacts": list(p.abuse_contacts),
            "channel": p.channel.value,
            "webhook_url": p.webhook_url,
            "webhook_secret_sealed": self._sealed(p),
            "language": p.language.value,
            "country": p.country,
            "recheck_minutes": p.recheck_minutes,
            "renotice_minutes": p.renotice_minutes,
            "escalate_minutes": p.escalate_minutes,
            "forbidden_means": p.forbidden_means.value,
            "unmatched_means": p.unmatched_means.value,
            "escalation_target": p.escalation_target.value if p.escalation_target else None,
            "escalation_contact": p.escalation_contact,
            "organisation_id": org_id,
            "notes": p.notes,
        }

    def add(self, provider: Provider, now: datetime) -> Provider:
        provider = validate_provider(provider)
        try:
            with storage_errors("adding a provider"), self.engine.begin() as conn:
                values = self._values(conn, provider)
                new_id = inserted_id(
                    conn.execute(insert(providers).values(**values, created_at=now, updated_at=now))
                )
        except IntegrityError as exc:
            raise Conflict(
                f"provider {provider.name!r} already exists", name=provider.name
            ) from exc
        return replace(
            provider,
            id=int(new_id),
            created_at=now,
            updated_at=now,
            webhook_secret=None,
            webhook_secret_sealed=values["webhook_secret_sealed"],
        )

    def update(self, provider: Provider, now: datetime) -> Provider:
        """Replace every field of the provider with id ``provider.id``."""
        provider = validate_provider(provider)
        try:
            with storage_errors("updating a provider"), self.engine.begin() as conn:
                values = self._values(conn, provider)
                changed = conn.execute(
                    update(providers)
                    .where(providers.c.id == provider.id)
                    .values(**values, updated_at=now)
                ).rowcount
        except IntegrityError as exc:
            raise Conflict(
                f"provider {provider.name!r} already exists", name=provider.name
            ) from exc
        if not changed:
            raise NotFound(f"no provider with id {provider.id}", provider_id=provider.id)
        return self.get_by_id(provider.id)

    def _one(self, where: Any, what: str) -> Provider:
        with storage_errors("reading a provider"), self.engine.connect() as conn:
            row = conn.execute(_QUERY.where(where)).first()
        if row is None:
            raise NotFound(f"no provider {what}")
        return _provider(row)

    def get(self, name: str) -> Provider:
        return self._one(providers.c.name == name, f"named {name!r}")

    def get_by_id(self, provider_id: int) -> Provider:
        return self._one(providers.c.id == provider_id, f"with id {provider_id}")

    def list_providers(self, *, organisation: str | None = None) -> list[Provider]:
        query = _QUERY.order_by(providers.c.name)
        if organisation is not None:
            query = query.where(organisations.c.name == organisation)
        with storage_errors("listing providers"), self.engine.connect() as conn:
            return [_provider(r) for r in conn.execute(query)]
