"""What a CyberTipline report reads from the rest of the database: a sighting, whether anyone
revealed its media, and a bank entry's own label.

``revealed`` is read from the audit log: the review page writes ``review.reveal`` (target
``sighting:<id>``) before it shows the media and settles it ``ok`` once shown, so a reveal that
failed is not a view.
"""

from __future__ import annotations

from sqlalchemy import Engine, select

from keepdown.errors import NotFound
from keepdown.filings.cybertip_draft import SightingFacts
from keepdown.storage.engine import storage_errors
from keepdown.storage.tables_access import audit_log
from keepdown.storage.tables_banks import bank_entries
from keepdown.storage.tables_crawl import sightings

__all__ = ["SqlFilingFacts"]


class SqlFilingFacts:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def sighting(self, sighting_id: int) -> SightingFacts:
        s = sightings.c
        query = (
            select(
                s.id,
                s.media_url,
                s.page_url,
                s.seen_at,
                s.sha256,
                s.md5,
                s.sha1,
                s.state,
                bank_entries.c.source_label,
            )
            .select_from(sightings.outerjoin(bank_entries, bank_entries.c.id == s.entry_id))
            .where(s.id == sighting_id)
        )
        with storage_errors("reading a sighting"), self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"no sighting {sighting_id}")
        return SightingFacts(
            sighting_id=int(row.id),
            media_url=row.media_url,
            page_url=row.page_url,
            seen_at=row.seen_at,
            sha256=row.sha256,
            md5=row.md5,
            sha1=row.sha1,
            confirmed=row.state == "confirmed",
            label=row.source_label or "",
            revealed=self.revealed(sighting_id),
        )

    def revealed(self, sighting_id: int) -> bool:
        a = audit_log.c
        query = select(a.id).where(
            a.action == "review.reveal", a.target == f"sighting:{sighting_id}", a.outcome == "ok"
        )
        with storage_errors("reading the audit log"), self.engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def entry_label(self, entry_id: int) -> str:
        query = select(bank_entries.c.source_label).where(bank_entries.c.id == entry_id)
        with storage_errors("reading a bank entry"), self.engine.connect() as conn:
            return str(conn.execute(query).scalar() or "")
