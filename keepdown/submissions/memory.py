"""In-memory twins of the submission, hold and removal-request stores, for tests and
single-process tries.

They keep the same rules as the SQL stores (``keepdown.storage``): a taken case number is a
Conflict, an unknown one NotFound, wrong PINs lock a case, withdrawing twice changes nothing.
The contract tests in ``tests/submissions`` run against both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from keepdown.errors import Conflict, NotFound
from keepdown.submissions.holds import Hold, HoldMatch, HoldState, UploadHashes
from keepdown.submissions.model import (
    AgeAtTime,
    HashKey,
    Media,
    PinCheck,
    Status,
    Submission,
    SubmittedHash,
)
from keepdown.submissions.requests import (
    NewItem,
    Origin,
    RemovalItem,
    RemovalRequest,
    RequestState,
)

__all__ = ["InMemoryHoldStore", "InMemoryRemovalStore", "InMemorySubmissionStore"]


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

    def holders(self, bank: str, key: HashKey) -> list[int]:
        return sorted(
            row.submission.id
            for row in self._rows.values()
            if row.submission.bank == bank
            and row.submission.active
            and any(h.key == key for h in row.hashes)
        )

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


class InMemoryRemovalStore:
    """:class:`~keepdown.submissions.requests.RemovalStore` in a dict (organisations are
    whatever names are given)."""

    def __init__(self) -> None:
        self._requests: dict[int, RemovalRequest] = {}
        self._hashes: dict[int, set[HashKey]] = {}
        self._next_item = 1
        self._lock = threading.Lock()

    def create(
        self,
        *,
        organisation: str,
        origin: Origin,
        received_at: datetime,
        due_at: datetime,
        created_by: str,
        description: str = "",
        contact: str = "",
        submission_id: int | None = None,
        hold_id: int | None = None,
        hashes: Iterable[HashKey] = (),
        items: Iterable[NewItem] = (),
        now: datetime,
    ) -> RemovalRequest:
        with self._lock:
            new_id = len(self._requests) + 1
            self._requests[new_id] = RemovalRequest(
                id=new_id,
                organisation=organisation,
                origin=origin,
                submission_id=submission_id,
                hold_id=hold_id,
                received_at=received_at,
                due_at=due_at,
                state=RequestState.OPEN,
                closed_at=None,
                first_closed_at=None,
                ended_reason=None,
                description=description,
                contact=contact,
                created_by=created_by,
                last_sweep_at=None,
            )
            self._hashes[new_id] = set(hashes)
        self.add_items(new_id, items, now)
        return self.get(new_id)

    def get(self, request_id: int) -> RemovalRequest:
        if request_id not in self._requests:
            raise NotFound("no such removal request", request=request_id)
        return self._requests[request_id]

    def requests(
        self,
        *,
        organisation: str | None = None,
        state: RequestState | None = None,
        limit: int = 200,
    ) -> list[RemovalRequest]:
        found = [
            r
            for r in self._requests.values()
            if (organisation is None or r.organisation == organisation)
            and (state is None or r.state is state)
        ]
        return sorted(found, key=lambda r: -r.id)[:limit]

    def for_submission(self, submission_id: int) -> list[RemovalRequest]:
        return [r for r in self._requests.values() if r.submission_id == submission_id]

    def by_hold(self, hold_id: int) -> RemovalRequest | None:
        found = [r for r in self._requests.values() if r.hold_id == hold_id]
        return min(found, key=lambda r: r.id) if found else None

    def hashes(self, request_id: int) -> set[HashKey]:
        return set(self._hashes.get(request_id, set()))

    def add_hashes(self, request_id: int, hashes: Iterable[HashKey]) -> None:
        self._hashes.setdefault(request_id, set()).update(hashes)

    def add_items(
        self, request_id: int, items: Iterable[NewItem], now: datetime
    ) -> list[RemovalItem]:
        with self._lock:
            request = self.get(request_id)
            known = {i.content_ref for i in request.items}
            added = []
            for item in items:
                if item.content_ref in known:
                    continue
                known.add(item.content_ref)
                added.append(
                    RemovalItem(
                        id=self._next_item,
                        request_id=request_id,
                        content_ref=item.content_ref,
                        how=item.how,
                        source=item.source,
                        sha256=item.sha256,
                        pdq=item.pdq,
                        signal_type=item.signal_type,
                        match_type=item.match_type,
                        distance=item.distance,
                        found_at=now,
                    )
                )
                self._next_item += 1
            self._requests[request_id] = replace(request, items=(*request.items, *added))
        return added

    def _change(
        self, request_id: int, item_id: int, change: Callable[[RemovalItem], RemovalItem]
    ) -> RemovalItem:
        with self._lock:
            request = self.get(request_id)
            items = list(request.items)
            for n, item in enumerate(items):
                if item.id == item_id:
                    items[n] = change(item)
                    self._requests[request_id] = replace(request, items=tuple(items))
                    return items[n]
        raise NotFound("no such copy on this request", item=item_id)

    def mark_removed(
        self, request_id: int, item_id: int, *, by: str, at: datetime, note: str = ""
    ) -> RemovalItem:
        def change(item: RemovalItem) -> RemovalItem:
            if item.removed_at is not None:
                return item
            return replace(item, removed_at=at, removed_by=by, removal_note=note)

        return self._change(request_id, item_id, change)

    def dismiss(
        self, request_id: int, item_id: int, *, by: str, at: datetime, note: str
    ) -> RemovalItem:
        def change(item: RemovalItem) -> RemovalItem:
            if item.removed_at is not None:
                raise Conflict("this copy is recorded as removed; it cannot be dismissed")
            if item.dismissed_at is not None:
                return item
            return replace(item, dismissed_at=at, dismissed_by=by, removal_note=note)

        return self._change(request_id, item_id, change)

    def seen_again(self, request_id: int, item_id: int, at: datetime) -> RemovalItem:
        def change(item: RemovalItem) -> RemovalItem:
            if item.removed_at is None:
                return item
            return replace(item, removed_at=None, removed_by=None, seen_again_at=at)

        return self._change(request_id, item_id, change)

    def set_state(
        self, request_id: int, state: RequestState, *, at: datetime, reason: str | None = None
    ) -> RemovalRequest:
        with self._lock:
            request = self.get(request_id)
            if state is RequestState.CLOSED:
                changed = replace(
                    request,
                    state=state,
                    closed_at=at,
                    first_closed_at=request.first_closed_at or at,
                )
            elif state is RequestState.OPEN:
                changed = replace(request, state=state, closed_at=None)
            else:
                changed = replace(request, state=state, closed_at=at, ended_reason=reason)
            self._requests[request_id] = changed
            return changed

    def record_sweep(self, request_id: int, at: datetime) -> None:
        with self._lock:
            self._requests[request_id] = replace(self.get(request_id), last_sweep_at=at)


class InMemoryHoldStore:
    """:class:`~keepdown.submissions.holds.HoldStore` in a dict. ``entries`` maps a bank
    entry id to its (signal type, value), as the bank's table would; ``requests`` is the
    removal-request store whose requests point at holds."""

    def __init__(
        self,
        entries: Callable[[int], HashKey],
        requests: InMemoryRemovalStore | None = None,
    ) -> None:
        self._holds: dict[int, Hold] = {}
        self._entries = entries
        self._requests = requests
        self._lock = threading.Lock()

    def hold(
        self,
        *,
        organisation: str,
        key_id: str,
        content_ref: str,
        hashes: UploadHashes,
        match: HoldMatch,
        now: datetime,
    ) -> tuple[Hold, bool]:
        with self._lock:
            for hold in sorted(self._holds.values(), key=lambda h: h.id):
                same = (hold.organisation, hold.hashes.sha256, hold.match.bank)
                if same == (organisation, hashes.sha256, match.bank):
                    return hold, False
            new = Hold(
                id=len(self._holds) + 1,
                organisation=organisation,
                key_id=key_id,
                content_ref=content_ref,
                hashes=hashes,
                match=match,
                state=HoldState.HELD,
                held_at=now,
            )
            self._holds[new.id] = new
            return new, True

    def get(self, hold_id: int) -> Hold:
        if hold_id not in self._holds:
            raise NotFound("no such held upload", hold=hold_id)
        return self._holds[hold_id]

    def waiting(self, limit: int = 100) -> list[Hold]:
        held = [h for h in self._holds.values() if h.state is HoldState.HELD]
        return sorted(held, key=lambda h: (h.held_at, h.id))[:limit]

    def recent(self, *, organisation: str | None = None, limit: int = 100) -> list[Hold]:
        found = [h for h in self._holds.values() if organisation in (None, h.organisation)]
        return sorted(found, key=lambda h: -h.id)[:limit]

    def decide(self, hold_id: int, state: HoldState, *, by: str, note: str, now: datetime) -> Hold:
        with self._lock:
            hold = self.get(hold_id)
            if hold.state is not HoldState.HELD:
                raise Conflict(f"this upload was already decided ({hold.state.value})")
            decided = replace(hold, state=state, decided_by=by, decided_at=now, note=note)
            self._holds[hold_id] = decided
            return decided

    def entry_key(self, hold_id: int) -> HashKey:
        return self._entries(self.get(hold_id).match.entry_id)

    def confirmed_without_request(self) -> list[Hold]:
        pointed = set()
        if self._requests is not None:
            pointed = {r.hold_id for r in self._requests.requests(limit=10**9)}
        return [
            h
            for h in sorted(self._holds.values(), key=lambda h: h.id)
            if h.state is HoldState.CONFIRMED and h.id not in pointed
        ]
