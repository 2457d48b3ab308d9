"""SQL stores of keepdown.filings: filing profiles and CyberTipline reports.

The promises are the protocol's (``keepdown.filings.cybertip_model.CyberTipStore``):

1. one report per (organisation, source, source reference): the unique key, so two
   processes drafting the same upload at once store it once (the loser gets Conflict);
2. a claim is one conditional UPDATE (``in_flight IS NULL`` and an active state): of two
   workers, exactly one marks a step in flight; its lease says when it counts as dead;
3. a step's result, its file changes and its events are written in one transaction, after
   the report's row is locked and only if the same step is still in flight: a sender whose
   lease another took over changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from keepdown.errors import Conflict, NotFound
from keepdown.events import Event
from keepdown.filings.cybertip_model import (
    ACTIVE,
    CyberTipDraft,
    CyberTipReport,
    ReportChange,
    ReportFile,
    ReportState,
    Source,
    Step,
    facts_from_json,
    facts_to_json,
)
from keepdown.filings.profiles import FilingProfile, profile_from_dict
from keepdown.storage.engine import storage_errors
from keepdown.storage.notice_rows import emit
from keepdown.storage.tables_filings import cybertip_files, cybertip_reports, filing_profiles

__all__ = ["SqlCyberTips", "SqlProfiles"]

R = cybertip_reports.c
F = cybertip_files.c


class SqlProfiles:
    """Filing profiles (``keepdown.filings.profiles.ProfileStore``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, organisation: str) -> FilingProfile | None:
        query = select(filing_profiles).where(filing_profiles.c.organisation == organisation)
        with storage_errors("reading a filing profile"), self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _profile(row) if row is not None else None

    def put(self, profile: FilingProfile) -> FilingProfile:
        data = profile.to_dict()
        values = {
            "profile": {"ncmec": data["ncmec"], "dsa": data["dsa"], "goaml": data["goaml"]},
            "updated_at": profile.updated_at,
            "updated_by": profile.updated_by,
        }
        if profile.updated_at is None:
            raise ValueError("a stored profile says when it was changed")
        table = filing_profiles
        with storage_errors("storing a filing profile"), self.engine.begin() as conn:
            done = conn.execute(
                update(table).where(table.c.organisation == profile.organisation).values(**values)
            ).rowcount
            if not done:
                conn.execute(insert(table).values(organisation=profile.organisation, **values))
        return profile

    def all(self) -> list[FilingProfile]:
        query = select(filing_profiles).order_by(filing_profiles.c.organisation)
        with storage_errors("reading filing profiles"), self.engine.connect() as conn:
            return [_profile(row) for row in conn.execute(query)]


def _profile(row: Row[Any]) -> FilingProfile:
    data = dict(row.profile)
    data["updated_by"] = row.updated_by
    profile = profile_from_dict(row.organisation, data)
    return FilingProfile(
        organisation=profile.organisation,
        ncmec=profile.ncmec,
        dsa=profile.dsa,
        goaml=profile.goaml,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


class SqlCyberTips:
    """CyberTipline reports (module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self,
        draft: CyberTipDraft,
        report_xml: bytes,
        state: ReportState,
        now: datetime,
        events: Callable[[CyberTipReport], Sequence[Event]],
    ) -> CyberTipReport:
        values = {
            "organisation": draft.organisation,
            "source": draft.source.value,
            "source_ref": draft.source_ref,
            "environment": draft.environment,
            "state": state.value,
            "report_xml": report_xml,
            "drafted_by": draft.drafted_by,
            "drafted_at": now,
        }
        try:
            with storage_errors("storing a CyberTipline report"), self.engine.begin() as conn:
                report_id = conn.execute(
                    insert(cybertip_reports).values(**values)
                ).inserted_primary_key
                assert report_id is not None
                for position, facts in enumerate(draft.files):
                    conn.execute(
                        insert(cybertip_files).values(
                            report_id=report_id[0], position=position, facts=facts_to_json(facts)
                        )
                    )
                report = self._load(conn, int(report_id[0]))
                emit(conn, list(events(report)))
                return report
        except IntegrityError:
            raise Conflict(f"a report for this {draft.source.value} exists already") from None

    def get(self, report_id: int) -> CyberTipReport:
        with storage_errors("reading a CyberTipline report"), self.engine.connect() as conn:
            return self._load(conn, report_id)

    def find(self, organisation: str, source: Source, source_ref: str) -> CyberTipReport | None:
        query = select(R.id).where(
            R.organisation == organisation, R.source == source.value, R.source_ref == source_ref
        )
        with storage_errors("finding a CyberTipline report"), self.engine.connect() as conn:
            found = conn.execute(query).scalar()
            return self._load(conn, int(found)) if found is not None else None

    def select(
        self,
        *,
        organisation: str | None = None,
        states: Sequence[ReportState] | None = None,
        limit: int = 100,
    ) -> list[CyberTipReport]:
        query = select(R.id).order_by(R.id.desc()).limit(limit)
        if organisation is not None:
            query = query.where(R.organisation == organisation)
        if states is not None:
            query = query.where(R.state.in_([s.value for s in states]))
        with storage_errors("listing CyberTipline reports"), self.engine.connect() as conn:
            return [self._load(conn, int(i)) for i in conn.execute(query).scalars()]

    def due(self, now: datetime, limit: int = 100) -> list[int]:
        query = (
            select(R.id)
            .where(
                R.state.in_([s.value for s in ACTIVE]),
                R.in_flight.is_(None),
                or_(R.next_attempt_at.is_(None), R.next_attempt_at <= now),
            )
            .order_by(R.id)
            .limit(limit)
        )
        with storage_errors("finding due CyberTipline reports"), self.engine.connect() as conn:
            return [int(i) for i in conn.execute(query).scalars()]

    def expired(self, now: datetime) -> list[CyberTipReport]:
        query = select(R.id).where(R.in_flight.is_not(None), R.lease_expires <= now)
        with (
            storage_errors("finding interrupted CyberTipline steps"),
            self.engine.connect() as conn,
        ):
            return [self._load(conn, int(i)) for i in conn.execute(query).scalars()]

    def claim(
        self, report_id: int, step: Step, now: datetime, lease_seconds: float
    ) -> CyberTipReport | None:
        free = and_(
            R.id == report_id,
            R.in_flight.is_(None),
            R.state.in_([s.value for s in ACTIVE]),
        )
        lease = now + timedelta(seconds=lease_seconds)
        with storage_errors("claiming a CyberTipline step"), self.engine.begin() as conn:
            taken = conn.execute(
                update(cybertip_reports)
                .where(free)
                .values(in_flight=step.value, lease_expires=lease)
            ).rowcount
            return self._load(conn, report_id) if taken else None

    def apply(
        self,
        report_id: int,
        decide: Callable[[CyberTipReport], ReportChange | None],
        *,
        in_flight: Step | None = None,
    ) -> CyberTipReport | None:
        with storage_errors("updating a CyberTipline report"), self.engine.begin() as conn:
            # lock the row first (SQLite: the write transaction already holds the lock)
            conn.execute(select(R.id).where(R.id == report_id).with_for_update())
            current = self._load(conn, report_id)
            if in_flight is not None and current.in_flight is not in_flight:
                return None
            change = decide(current)
            if change is None:
                return None
            if change.report:
                conn.execute(
                    update(cybertip_reports)
                    .where(R.id == report_id)
                    .values(**_columns(change.report))
                )
            for file_id, values in change.files.items():
                conn.execute(
                    update(cybertip_files)
                    .where(F.id == file_id, F.report_id == report_id)
                    .values(**values)
                )
            emit(conn, change.events)
            return self._load(conn, report_id)

    def _load(self, conn: Connection, report_id: int) -> CyberTipReport:
        row = conn.execute(select(cybertip_reports).where(R.id == report_id)).first()
        if row is None:
            raise NotFound(f"no CyberTipline report {report_id}")
        files = conn.execute(
            select(cybertip_files).where(F.report_id == report_id).order_by(F.position)
        )
        return _report(row, tuple(_file(f) for f in files))


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    """Enum values as their strings."""
    out = {}
    for name, value in values.items():
        out[name] = value.value if isinstance(value, ReportState | Step) else value
    return out


def _file(row: Row[Any]) -> ReportFile:
    return ReportFile(
        id=int(row.id),
        position=int(row.position),
        facts=facts_from_json(dict(row.facts)),
        ncmec_file_id=row.ncmec_file_id,
        uploaded=row.uploaded,
        described=row.described,
    )


def _report(row: Row[Any], files: tuple[ReportFile, ...]) -> CyberTipReport:
    return CyberTipReport(
        id=int(row.id),
        organisation=row.organisation,
        source=Source(row.source),
        source_ref=row.source_ref,
        environment=row.environment,
        state=ReportState(row.state),
        report_xml=bytes(row.report_xml),
        files=files,
        drafted_by=row.drafted_by,
        drafted_at=row.drafted_at,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        ncmec_report_id=row.ncmec_report_id,
        opened_at=row.opened_at,
        last_step_at=row.last_step_at,
        finished_at=row.finished_at,
        in_flight=Step(row.in_flight) if row.in_flight else None,
        lease_expires=row.lease_expires,
        attempts=int(row.attempts),
        restarts=int(row.restarts),
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        last_code=row.last_code,
        retract_then=row.retract_then,
    )
