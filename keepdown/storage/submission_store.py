"""Self-submissions on SQL: implements :class:`keepdown.submissions.model.SubmissionStore`.

A submission and its hashes are written in one transaction; a taken case number is a
:class:`~keepdown.errors.Conflict` (the service draws another). Which hashes a bank's active
submissions still hold is one indexed query per 500 hashes, whatever the number of
submissions. Wrong PINs are counted with a conditional update, so two wrong PINs at once are
both counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from keepdown.errors import Conflict, NotFound
from keepdown.hashing.types import SignalType
from keepdown.storage.engine import storage_errors
from keepdown.storage.tables_banks import banks
from keepdown.storage.tables_submissions import self_submission_hashes as hashes_t
from keepdown.storage.tables_submissions import self_submissions as subs
from keepdown.submissions.model import (
    AgeAtTime,
    HashKey,
    Media,
    PinCheck,
    Programme,
    Status,
    Submission,
    SubmittedHash,
)

__all__ = ["SqlSubmissionStore"]

_CHUNK = 500

_QUERY = select(subs, banks.c.name.label("bank_name")).join(banks, banks.c.id == subs.c.bank_id)


def _submission(row: Row[Any]) -> Submission:
    return Submission(
        id=row.id,
        case_number=row.case_number,
        programme=Programme(row.programme),
        age_at_time=AgeAtTime(row.age_at_time),
        share_with_platforms=bool(row.share_with_platforms),
        status=Status(row.status),
        created_at=row.created_at,
        withdrawn_at=row.withdrawn_at,
        images=row.images,
        videos=row.videos,
        hashes=row.hashes,
        bank=row.bank_name,
    )


def _chunks(keys: Iterable[HashKey]) -> Iterator[list[HashKey]]:
    batch: list[HashKey] = []
    for key in keys:
        batch.append(key)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


class SqlSubmissionStore:
    """Submissions in the keepdown database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        *,
        case_number: str,
        pin_hash: str,
        age_at_time: AgeAtTime,
        share_with_platforms: bool,
        bank: str,
        hashes: Iterable[SubmittedHash],
        now: datetime,
    ) -> Submission:
        rows = list({h.key: h for h in hashes}.values())  # one row per hash
        items = {h.item: h.media for h in rows}
        with storage_errors("storing a submission"):
            try:
                with self.engine.begin() as conn:
                    bank_id = conn.execute(select(banks.c.id).where(banks.c.name == bank))
                    found = bank_id.scalar()
                    if found is None:
                        raise NotFound(f"no bank {bank!r}", bank=bank)
                    new_id = conn.execute(
                        insert(subs)
                        .returning(subs.c.id)
                        .values(
                            case_number=case_number,
                            pin_hash=pin_hash,
                            programme=age_at_time.programme.value,
                            age_at_time=age_at_time.value,
                            share_with_platforms=share_with_platforms,
                            bank_id=found,
                            status=Status.ACTIVE.value,
                            images=sum(m is Media.IMAGE for m in items.values()),
                            videos=sum(m is Media.VIDEO for m in items.values()),
                            hashes=len(rows),
                            created_at=now,
                        )
                    ).scalar_one()
                    if rows:
                        conn.execute(insert(hashes_t), [_hash_row(new_id, h) for h in rows])
            except IntegrityError as exc:
                raise Conflict("this case number is taken") from exc
        return self.by_id(int(new_id))

    def get(self, case_number: str) -> Submission:
        return self._one(subs.c.case_number == case_number, case_number)

    def by_id(self, submission_id: int) -> Submission:
        return self._one(subs.c.id == submission_id, str(submission_id))

    def _one(self, where: Any, what: str) -> Submission:
        with storage_errors("reading a submission"), self.engine.connect() as conn:
            row = conn.execute(_QUERY.where(where)).first()
        if row is None:
            raise NotFound("no such case", case=what)
        return _submission(row)

    def pin_check(self, case_number: str) -> PinCheck:
        query = select(subs.c.id, subs.c.pin_hash, subs.c.failed_pin_attempts, subs.c.locked_until)
        with storage_errors("reading a case"), self.engine.connect() as conn:
            row = conn.execute(query.where(subs.c.case_number == case_number)).first()
        if row is None:
            raise NotFound("no such case")
        return PinCheck(row.id, row.pin_hash, row.failed_pin_attempts, row.locked_until)

    def record_pin_attempt(
        self, submission_id: int, ok: bool, now: datetime, *, lock_after: int, lock_until: datetime
    ) -> PinCheck:
        where = subs.c.id == submission_id
        with storage_errors("counting a PIN attempt"), self.engine.begin() as conn:
            if ok:
                conn.execute(update(subs).where(where).values(failed_pin_attempts=0))
            else:
                conn.execute(
                    update(subs)
                    .where(where)
                    .values(failed_pin_attempts=subs.c.failed_pin_attempts + 1)
                )
                conn.execute(
                    update(subs)
                    .where(where, subs.c.failed_pin_attempts >= lock_after)
                    .values(failed_pin_attempts=0, locked_until=lock_until)
                )
            row = conn.execute(
                select(
                    subs.c.id, subs.c.pin_hash, subs.c.failed_pin_attempts, subs.c.locked_until
                ).where(where)
            ).one()
        return PinCheck(row.id, row.pin_hash, row.failed_pin_attempts, row.locked_until)

    def withdraw(self, submission_id: int, now: datetime) -> Submission:
        with storage_errors("withdrawing a submission"), self.engine.begin() as conn:
            conn.execute(
                update(subs)
                .where(subs.c.id == submission_id, subs.c.status == Status.ACTIVE.value)
                .values(status=Status.WITHDRAWN.value, withdrawn_at=now)
            )
        return self.by_id(submission_id)

    def hashes(self, submission_id: int) -> list[SubmittedHash]:
        query = (
            select(hashes_t)
            .where(hashes_t.c.submission_id == submission_id)
            .order_by(hashes_t.c.item, hashes_t.c.id)
        )
        with storage_errors("reading a submission's hashes"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            SubmittedHash(
                item=r.item,
                media=Media(r.media),
                signal_type=SignalType(r.signal_type),
                value=r.value,
                variant=r.variant,
                quality=r.quality,
            )
            for r in rows
        ]

    def held(self, bank: str, keys: Iterable[HashKey]) -> set[HashKey]:
        found: set[HashKey] = set()
        base = (
            select(hashes_t.c.signal_type, hashes_t.c.value)
            .distinct()
            .join(subs, subs.c.id == hashes_t.c.submission_id)
            .join(banks, banks.c.id == subs.c.bank_id)
            .where(banks.c.name == bank, subs.c.status == Status.ACTIVE.value)
        )
        with storage_errors("reading held hashes"), self.engine.connect() as conn:
            for chunk in _chunks(keys):
                pairs = tuple_(hashes_t.c.signal_type, hashes_t.c.value).in_(chunk)
                found.update((r.signal_type, r.value) for r in conn.execute(base.where(pairs)))
        return found

    def holders(self, bank: str, key: HashKey) -> list[int]:
        query = (
            select(subs.c.id)
            .join(hashes_t, hashes_t.c.submission_id == subs.c.id)
            .join(banks, banks.c.id == subs.c.bank_id)
            .where(
                banks.c.name == bank,
                subs.c.status == Status.ACTIVE.value,
                hashes_t.c.signal_type == key[0],
                hashes_t.c.value == key[1],
            )
            .order_by(subs.c.id)
        )
        with storage_errors("reading a hash's submissions"), self.engine.connect() as conn:
            return [int(i) for i in conn.execute(query).scalars()]

    def all_keys(self, bank: str) -> tuple[set[HashKey], set[HashKey]]:
        query = (
            select(hashes_t.c.signal_type, hashes_t.c.value, subs.c.status)
            .join(subs, subs.c.id == hashes_t.c.submission_id)
            .join(banks, banks.c.id == subs.c.bank_id)
            .where(banks.c.name == bank)
        )
        active: set[HashKey] = set()
        every: set[HashKey] = set()
        with storage_errors("reading a bank's submissions"), self.engine.connect() as conn:
            for row in conn.execute(query):
                key = (row.signal_type, row.value)
                every.add(key)
                if row.status == Status.ACTIVE.value:
                    active.add(key)
        return active, every - active

    def counts(self) -> Mapping[str, int]:
        query = select(subs.c.programme, subs.c.status, func.count()).group_by(
            subs.c.programme, subs.c.status
        )
        with storage_errors("counting submissions"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {f"{programme}/{status}": n for programme, status, n in rows}


def _hash_row(submission_id: int, h: SubmittedHash) -> dict[str, Any]:
    return {
        "submission_id": submission_id,
        "item": h.item,
        "media": h.media.value,
        "signal_type": str(h.signal_type),
        "value": h.value,
        "variant": h.variant,
        "quality": h.quality,
    }
