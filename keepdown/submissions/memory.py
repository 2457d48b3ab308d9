"""In-memory twins of the submission stores, for tests and single-process tries.

They keep the same rules as the SQL stores (``keepdown.storage``): a taken case number is a
Conflict, an unknown one NotFound, wrong PINs lock a case, withdrawing twice changes nothing.
The contract tests in ``tests/submissions`` run against both.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from keepdown.errors import Conflict, NotFound
from keepdown.submissions.model import (
    AgeAtTime,
    HashKey,
    Media,
    PinCheck,
    Status,
    Submission,
    SubmittedHash,
)

__all__ = ["InMemorySubmissionStore"]


@dataclass
class _Row:
    submission: Submission
    pin_hash: str
    hashes: list[SubmittedHash]
    failed: int = 0
    locked_until: datetime | None = None


class InMemorySubmissionStore:
    """:class:`~keepdown.submissions.model.SubmissionStore` in a dict."""

    def __init__(self) -> None:
        self._rows: dict[int, _Row] = {}
        self._lock = threading.Lock()

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
        rows = list({h.key: h for h in hashes}.values())
        items = {h.item: h.media for h in rows}
        with self._lock:
            if any(r.submission.case_number == case_number for r in self._rows.values()):
                raise Conflict("this case number is taken")
            new_id = len(self._rows) + 1
            submission = Submission(
                id=new_id,
                case_number=case_number,
                programme=age_at_time.programme,
                age_at_time=age_at_time,
                share_with_platforms=share_with_platforms,
                status=Status.ACTIVE,
                created_at=now,
                withdrawn_at=None,
                images=sum(m is Media.IMAGE for m in items.values()),
                videos=sum(m is Media.VIDEO for m in items.values()),
                hashes=len(rows),
                bank=bank,
            )
            self._rows[new_id] = _Row(submission, pin_hash, rows)
        return submission

    def get(self, case_number: str) -> Submission:
        for row in self._rows.values():
            if row.submission.case_number == case_number:
                return row.submission
        raise NotFound("no such case")

    def by_id(self, submission_id: int) -> Submission:
        return self._row(submission_id).submission

    def _row(self, submission_id: int) -> _Row:
        if submission_id not in self._rows:
            raise NotFound("no such case")
        return self._rows[submission_id]

    def pin_check(self, case_number: str) -> PinCheck:
        row = self._row(self.get(case_number).id)
        return PinCheck(row.submission.id, row.pin_hash, row.failed, row.locked_until)

    def record_pin_attempt(
        self, submission_id: int, ok: bool, now: datetime, *, lock_after: int, lock_until: datetime
    ) -> PinCheck:
        with self._lock:
            row = self._row(submission_id)
            row.failed = 0 if ok else row.failed + 1
            if row.failed >= lock_after:
                row.failed, row.locked_until = 0, lock_until
            return PinCheck(submission_id, row.pin_hash, row.failed, row.locked_until)

    def withdraw(self, submission_id: int, now: datetime) -> Submission:
        with self._lock:
            row = self._row(submission_id)
            if row.submission.status is Status.ACTIVE:
                row.submission = replace(row.submission, status=Status.WITHDRAWN, withdrawn_at=now)
            return row.submission

    def hashes(self, submission_id: int) -> list[SubmittedHash]:
        return sorted(self._row(submission_id).hashes, key=lambda h: h.item)

    def held(self, bank: str, keys: Iterable[HashKey]) -> set[HashKey]:
        wanted = set(keys)
        return {
            h.key
            for row in self._rows.values()
            if row.submission.bank == bank and row.submission.active
            for h in row.hashes
            if h.key in wanted
        }

    def all_keys(self, bank: str) -> tuple[set[HashKey], set[HashKey]]:
        active: set[HashKey] = set()
        every: set[HashKey] = set()
        for row in self._rows.values():
            if row.submission.bank != bank:
                continue
            keys = {h.key for h in row.hashes}
            every |= keys
            if row.submission.active:
                active |= keys
        return active, every - active

    def counts(self) -> Mapping[str, int]:
        out: dict[str, int] = {}
        for row in self._rows.values():
            key = f"{row.submission.programme}/{row.submission.status}"
            out[key] = out.get(key, 0) + 1
        return out
