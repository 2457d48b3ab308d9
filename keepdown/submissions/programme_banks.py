"""The self-submitted banks, kept equal to what active submissions hold.

There is one bank per programme and use (:func:`keepdown.submissions.model.bank_role`):
``<prefix>-minors``, ``<prefix>-adults``, and the ``-hotline`` pair for hashes the person did
not let platforms use. Each is an ordinary keepdown bank, created on first use, owned by the
operator organisation, with trust ``review`` and the ``self-submission`` source that the
matcher reads to send its matches to review (never an automatic block).

A hash may be held by several submissions (two people, or one person twice). :meth:`sync`
makes the bank agree with the submissions for the hashes it is given, and is safe to repeat:

1. a hash an active submission holds and the bank lacks is added; one the bank removed
   because a submission was withdrawn is restored; one an analyst removed for another reason
   (a false positive) stays removed, and is counted;
2. a hash no active submission holds any more is removed with reason ``source-withdrew``:
   a tombstone, which every export and feed of the bank carries to whoever copied it.

Only hashes that came from submissions are ever touched: :meth:`reconcile` compares the whole
bank with every submission after a crash or a lost race between two processes.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from keepdown.banks.model import Bank, ImportFile, RemovalReason
from keepdown.banks.records import EntryRecord
from keepdown.banks.service import BankService
from keepdown.errors import Conflict, NotFound
from keepdown.events import BankImported
from keepdown.hashing.types import SignalType
from keepdown.submissions.model import (
    HOTLINE_ONLY_SOURCE,
    PROGRAMME_SOURCE,
    HashKey,
    Programme,
    SubmissionStore,
    bank_role,
)

__all__ = ["ProgrammeBanks", "SyncResult"]

#: The classification label of each programme's banks (keepdown's own scheme).
_LABELS = {Programme.MINORS: "csam", Programme.ADULTS: "other"}


@dataclass(frozen=True)
class SyncResult:
    added: int = 0
    restored: int = 0
    removed: int = 0
    kept_removed: int = 0  #: held, but an analyst removed it for another reason

    def __add__(self, other: SyncResult) -> SyncResult:
        return SyncResult(
            self.added + other.added,
            self.restored + other.restored,
            self.removed + other.removed,
            self.kept_removed + other.kept_removed,
        )


class ProgrammeBanks:
    """The banks of the programmes (module docstring)."""

    def __init__(
        self, banks: BankService, store: SubmissionStore, *, prefix: str, owner: str
    ) -> None:
        self.banks = banks
        self.store = store
        self.prefix = prefix
        self.owner = owner
        self._lock = threading.Lock()

    def name(self, programme: Programme, shared: bool) -> str:
        return f"{self.prefix}-{bank_role(programme, shared)}"

    def names(self) -> list[str]:
        return [self.name(p, s) for p in Programme for s in (True, False)]

    def bank(self, programme: Programme, shared: bool) -> Bank:
        """The bank, created on first use (two processes creating it at once is fine)."""
        name = self.name(programme, shared)
        try:
            return self.banks.store.get_bank(name)
        except NotFound:
            pass
        try:
            return self.banks.create_bank(
                name,
                owner=self.owner,
                source=PROGRAMME_SOURCE if shared else HOTLINE_ONLY_SOURCE,
                terms="hashes sent by the people in the pictures; withdrawn on request",
                label=_LABELS[programme],
                trust="review",
            )
        except Conflict:
            return self.banks.store.get_bank(name)

    def sync(self, bank: Bank, keys: Iterable[HashKey], now: datetime) -> SyncResult:
        """Make ``bank`` agree with the active submissions for ``keys`` (module docstring)."""
        wanted = set(keys)
        with self._lock:
            held = self.store.held(bank.name, wanted)
            add, result = self._to_add(bank, held)
            if add:
                self._import(bank, add, now)
            removed = self._remove(bank, wanted - held)
        return SyncResult(
            added=result.added,
            restored=result.restored,
            removed=removed,
            kept_removed=result.kept_removed,
        )

    def reconcile(self, now: datetime) -> SyncResult:
        """:meth:`sync` every hash any submission of any programme bank ever held."""
        total = SyncResult()
        for programme in Programme:
            for shared in (True, False):
                try:
                    bank = self.banks.store.get_bank(self.name(programme, shared))
                except NotFound:
                    continue
                active, withdrawn = self.store.all_keys(bank.name)
                total += self.sync(bank, active | withdrawn, now)
        return total

    def _to_add(self, bank: Bank, held: set[HashKey]) -> tuple[list[EntryRecord], SyncResult]:
        add: list[EntryRecord] = []
        added = restored = kept = 0
        for signal, value in sorted(held):
            try:
                entry = self.banks.store.get_entry(bank.id, signal, value)
            except NotFound:
                added += 1
                add.append(EntryRecord(signal_type=SignalType(signal), value=value))
                continue
            if not entry.removed:
                continue
            if entry.removal_reason == RemovalReason.SOURCE_WITHDREW.value:
                restored += 1
                add.append(EntryRecord(signal_type=SignalType(signal), value=value))
            else:
                kept += 1  # an analyst's removal (false positive...) outranks a submission
        return add, SyncResult(added=added, restored=restored, kept_removed=kept)

    def _import(self, bank: Bank, records: list[EntryRecord], now: datetime) -> None:
        digest = hashlib.sha256(
            "\n".join(f"{r.signal_type}:{r.value}" for r in records).encode()
        ).hexdigest()
        source = ImportFile(name="self-submission", sha256=digest)
        result = self.banks.store.import_entries(bank, records, source, now, restore=True)
        self.banks.events.emit(
            BankImported(
                at=now,
                bank=bank.name,
                added=result.added + result.restored,
                already_present=result.already_present,
                skipped_invalid=result.invalid,
                source_file="self-submission",
            )
        )

    def _remove(self, bank: Bank, gone: set[HashKey]) -> int:
        removed = 0
        for signal, value in sorted(gone):
            try:
                entry = self.banks.store.get_entry(bank.id, signal, value)
            except NotFound:
                continue
            if entry.removed:
                continue
            self.banks.remove_entry(bank.name, signal, value, RemovalReason.SOURCE_WITHDREW.value)
            removed += 1
        return removed
