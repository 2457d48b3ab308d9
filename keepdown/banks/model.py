"""Banks and their entries, as plain frozen values, and the store protocol the service uses.

A :class:`Bank` is a named list of hashes from one source, with a default classification, a
trust level and per-signal-type match thresholds. An :class:`Entry` is one hash in a bank with
its provenance; removing it leaves a :class:`Tombstone` (the row stays, marked removed, so
exports tell peers about the removal and a re-import cannot silently bring it back).

:class:`BankStore` is what :mod:`keepdown.banks.service` needs from storage; ``keepdown.storage``
implements it (this package never imports storage). ``Bank`` has ``id``, ``name``, ``enabled``,
``trusted`` and ``threshold()``, so it satisfies the matching layer's bank policy structurally.

Who decides what is acted on (issue 16): matching is pooled (every organisation's uploads are
matched against the banks that take part), so a bank takes part only when the operator
organisation owns it or an operator admin accepted it (``accepted_at``/``accepted_by``), and
its distance thresholds are matched at most at the ``bank_max_pdq_distance`` setting:
:func:`matching_view` is the bank as the match index sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from keepdown.banks.classification import Classification
from keepdown.banks.records import EntryRecord, LineError
from keepdown.hashing.types import PdqHash, SignalType

__all__ = [
    "Bank",
    "BankReader",
    "BankSettingsChange",
    "BankSpec",
    "BankStore",
    "Entry",
    "ImportFile",
    "ImportResult",
    "ImportRun",
    "RemovalReason",
    "Tombstone",
    "TrustLevel",
    "matching_view",
]

#: Signal types matched by distance; every other type matches exactly (threshold 0).
DISTANCE_SIGNALS = frozenset({SignalType.PDQ, SignalType.VPDQ})


class TrustLevel(StrEnum):
    """How far a bank's matches are believed without an analyst."""

    #: Every match goes to human review first.
    REVIEW = "review"
    #: An exact match may act (e.g. a notice) without review; near matches are still reviewed.
    AUTO = "auto"


class RemovalReason(StrEnum):
    """Why an entry was removed from a bank (kept on its tombstone)."""

    FALSE_POSITIVE = "false-positive"
    SOURCE_WITHDREW = "source-withdrew"
    #: A feed's guard held the hash back: it would match unrelated pictures (exchanges.guards).
    LOW_INFORMATION = "low-information"
    OTHER = "other"


@dataclass(frozen=True)
class BankSpec:
    """What a new bank is made from (before it has an id)."""

    name: str
    owner: str
    source: str = ""
    source_terms: str = ""
    classification: Classification | None = None
    default_label: str | None = None
    trust: TrustLevel = TrustLevel.REVIEW
    thresholds: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Bank:
    """A stored bank. ``thresholds`` holds only the per-bank overrides."""

    id: int
    name: str
    owner: str
    source: str
    source_terms: str
    classification: Classification | None
    default_label: str | None
    trust: TrustLevel
    thresholds: Mapping[str, int]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    #: Opted in to ``near (robust)`` matches: entries found through a robust query variant
    #: (trimmed, un-cropped, turned back), always for review (keepdown.matching.matcher).
    robust: bool = False
    #: When and by whom an operator admin accepted this bank into pooled matching (a bank of
    #: another organisation than the operator takes part only then).
    accepted_at: datetime | None = None
    accepted_by: str | None = None

    def pooled(self, operator: str) -> bool:
        """True when this bank takes part in pooled matching: the operator organisation owns
        it, or an operator admin accepted it."""
        return (bool(operator) and self.owner == operator) or self.accepted_at is not None

    @property
    def trusted(self) -> bool:
        """True when an exact match on this bank may act without review."""
        return self.trust is TrustLevel.AUTO

    def threshold(self, signal_type: str, default: int = PdqHash.DEFAULT_THRESHOLD) -> int:
        """Largest distance at which a hash of ``signal_type`` matches this bank's entries:
        the bank's own threshold, else ``default`` for PDQ-like signals (the matcher's policy,
        the ``pdq_match_threshold`` setting; storage never stamps it on a bank) and 0 for
        exact ones."""
        if signal_type in self.thresholds:
            return self.thresholds[signal_type]
        return default if signal_type in DISTANCE_SIGNALS else 0


def matching_view(bank: Bank, *, operator: str, max_distance: int) -> Bank:
    """``bank`` as the pooled match index sees it: disabled unless it takes part
    (:meth:`Bank.pooled`), and no distance threshold of its own above ``max_distance`` (the
    ``bank_max_pdq_distance`` setting; values stored before the bound are matched at it; the
    runtime bounds the default, ``pdq_match_threshold``, the same way)."""
    thresholds = {
        name: (min(value, max_distance) if name in DISTANCE_SIGNALS else 0)
        for name, value in bank.thresholds.items()
    }
    return replace(
        bank,
        enabled=bank.enabled and bank.pooled(operator),
        thresholds=thresholds,
    )


@dataclass(frozen=True)
class Entry:
    """One hash in a bank, with its provenance; ``removed_at`` set means it is a tombstone."""

    id: int
    bank_id: int
    signal_type: SignalType
    value: str
    source_label: str | None
    classification: Classification | None
    source_id: str | None
    notes: str | None
    added_at: datetime
    removed_at: datetime | None = None
    removal_reason: str | None = None

    @property
    def removed(self) -> bool:
        return self.removed_at is not None

    def to_record(self) -> EntryRecord:
        """The entry as an export line (tombstones included, marked ``removed``)."""
        return EntryRecord(
            signal_type=self.signal_type,
            value=self.value,
            source_label=self.source_label,
            classification=self.classification,
            source_id=self.source_id,
            notes=self.notes,
            added_at=self.added_at,
            removed=self.removed,
            removal_reason=self.removal_reason,
        )


@dataclass(frozen=True)
class Tombstone:
    """What removing an entry leaves behind."""

    entry_id: int
    bank: str
    signal_type: SignalType
    value: str
    removed_at: datetime
    reason: RemovalReason


@dataclass(frozen=True)
class ImportFile:
    """Where an import's lines came from (kept in the imports table)."""

    name: str
    sha256: str


@dataclass(frozen=True)
class ImportResult:
    """What one import did. ``notes`` are line-level remarks that did not refuse the import."""

    import_id: int
    lines: int = 0
    added: int = 0
    already_present: int = 0
    invalid: int = 0
    restored: int = 0
    kept_removed: int = 0
    removed: int = 0
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportRun:
    """One recorded import attempt. ``running`` with no process behind it was interrupted:
    nothing from it landed (the whole import is one transaction)."""

    id: int
    file_name: str
    sha256: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    lines: int
    added: int
    already_present: int
    invalid: int
    restored: int
    kept_removed: int
    removed: int


@dataclass(frozen=True)
class BankSettingsChange:
    """New values of a bank's settings, checked by ``BankService.change``; None leaves a
    setting as it is. ``thresholds`` replaces the per-signal overrides; ``label`` is the
    source's label, kept verbatim with the classification it maps to."""

    enabled: bool | None = None
    trust: TrustLevel | None = None
    thresholds: Mapping[str, int] | None = None
    label: str | None = None
    classification: Classification | None = None
    robust: bool | None = None
    #: True: accepted into pooled matching by ``accepted_by``; False: acceptance withdrawn.
    accepted: bool | None = None
    accepted_by: str = ""

    def described(self) -> dict[str, object]:
        """What changes, for the event and the audit log."""
        out: dict[str, object] = {}
        if self.enabled is not None:
            out["enabled"] = self.enabled
        if self.trust is not None:
            out["trust"] = str(self.trust)
        if self.thresholds is not None:
            out["thresholds"] = dict(self.thresholds)
        if self.label is not None:
            out["label"] = self.label
        if self.robust is not None:
            out["robust"] = self.robust
        if self.accepted is not None:
            out["accepted"] = self.accepted
        return out


class BankStore(Protocol):
    """Persistence for banks and entries (implemented by ``keepdown.storage``)."""

    def create_bank(self, spec: BankSpec, now: datetime) -> Bank:
        """Store a new bank (creating its owner organisation if needed); Conflict if taken."""
        ...

    def get_bank(self, name: str) -> Bank:
        """The bank called ``name``; NotFound otherwise."""
        ...

    def list_banks(self) -> list[Bank]: ...

    def change_settings(self, name: str, change: BankSettingsChange, now: datetime) -> Bank:
        """Apply a checked change; NotFound if there is no such bank."""
        ...

    def entry_counts(self, bank_id: int) -> dict[str, dict[str, int]]:
        """{signal type: {"active": n, "removed": m}} for one bank."""
        ...

    def import_entries(
        self,
        bank: Bank,
        items: Iterable[EntryRecord | LineError],
        source: ImportFile,
        now: datetime,
        *,
        skip_invalid: bool = False,
        restore: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> ImportResult:
        """Add ``items`` in one transaction: all land or none (ImportFormatError lists lines)."""
        ...

    def list_imports(self, bank_id: int, limit: int = 10) -> list[ImportRun]:
        """The bank's most recent import attempts, newest first."""
        ...

    def fail_interrupted_imports(self, started_before: datetime, now: datetime) -> list[int]:
        """Mark ``failed`` the imports started before ``started_before`` still ``running``
        with no process behind them (a killed import); their ids. An import under way is
        never marked, and one that was marked refuses to go on."""
        ...

    def iter_entries(self, bank_id: int, *, include_removed: bool = True) -> Iterator[Entry]: ...

    def get_entry(self, bank_id: int, signal_type: str, value: str) -> Entry: ...

    def remove_entry(
        self, bank: Bank, signal_type: str, value: str, reason: RemovalReason, now: datetime
    ) -> Tombstone: ...


class BankReader(Protocol):
    """What the API and the web pages read of banks (``BankStore`` is one)."""

    def get_bank(self, name: str) -> Bank: ...

    def list_banks(self) -> list[Bank]: ...

    def entry_counts(self, bank_id: int) -> dict[str, dict[str, int]]: ...

    def page_entries(
        self, bank_id: int, *, after: int = 0, limit: int = 100, include_removed: bool = True
    ) -> list[Entry]:
        """One page of a bank's entries by id (after ``after``), oldest first."""
        ...
