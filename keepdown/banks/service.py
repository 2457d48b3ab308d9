"""Bank flows: create, change settings, list, show, import, export, remove an entry.

The service holds the rules; a :class:`~keepdown.banks.model.BankStore` keeps the data and an
:class:`~keepdown.events.EventSink` records what happened. Both are handed in by the caller (the
CLI or the app), so this package never touches SQL.

Import, step by step:

1. With ``verify_key``, check the file's detached signature first; a tampered file is refused
   before a single line is read.
2. Hash the file (SHA-256, kept on the import record), detect its format unless given.
3. Stream its lines into the store, which adds them in one transaction (all or nothing; see
   :mod:`keepdown.storage.bulk_import`): bad lines refuse the whole import unless
   ``skip_invalid``; a hash removed earlier stays removed unless ``restore``.
4. Emit one :class:`~keepdown.events.BankImported` (never one event per line).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from keepdown import files
from keepdown.banks import formats, signing
from keepdown.banks.classification import map_label
from keepdown.banks.model import (
    DISTANCE_SIGNALS,
    Bank,
    BankSettingsChange,
    BankSpec,
    BankStore,
    ImportFile,
    ImportResult,
    ImportRun,
    RemovalReason,
    Tombstone,
    TrustLevel,
)
from keepdown.banks.records import EntryRecord
from keepdown.banks.staging import ImportStaging
from keepdown.clock import Clock, SystemClock
from keepdown.errors import Forbidden, InvalidInput, NotFound, UsageError
from keepdown.events import (
    BankChanged,
    BankEntryAdded,
    BankEntryRemoved,
    BankImported,
    EventSink,
)
from keepdown.hashing.types import SignalType, parse_hash

__all__ = ["MAX_THRESHOLD", "BankDetails", "BankService", "export_format", "parse_thresholds"]

log = logging.getLogger("keepdown.banks")

_DROPPED = (
    "%d removed entries of bank %s are not in this %s export (the format cannot carry "
    "tombstones): peers using it will not learn of those removals; export jsonl or csv for them"
)

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")


@dataclass(frozen=True)
class BankDetails:
    """A bank with its entry counts and recent imports (what ``bank show`` prints)."""

    bank: Bank
    counts: Mapping[str, Mapping[str, int]]
    imports: list[ImportRun]

    @property
    def active(self) -> int:
        return sum(c["active"] for c in self.counts.values())

    @property
    def removed(self) -> int:
        return sum(c["removed"] for c in self.counts.values())


#: The largest distance a threshold can be written with (256 bits: any PDQ hash matches any
#: other); what a bank may use is bounded lower, by the ``bank_max_pdq_distance`` setting.
MAX_THRESHOLD = 256


def _trust(value: str) -> TrustLevel:
    try:
        return TrustLevel(value)
    except ValueError:
        raise InvalidInput(f"trust must be 'review' or 'auto', not {value!r}") from None


def _thresholds(thresholds: Mapping[str, int], max_distance: int) -> dict[str, int]:
    """Per-signal thresholds, checked: a known signal type and a distance it may have (0 for an
    exact signal; at most ``max_distance``, the ``bank_max_pdq_distance`` setting, for PDQ and
    vPDQ)."""
    checked: dict[str, int] = {}
    for name, value in thresholds.items():
        try:
            signal_type = SignalType(name)
        except ValueError:
            raise InvalidInput(f"no signal type {name!r} for a threshold") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"threshold {name}={value!r}: give a whole number")
        top = max_distance if signal_type in DISTANCE_SIGNALS else 0
        if not 0 <= value <= top:
            raise InvalidInput(
                f"threshold {name}={value}: give a number from 0 to {top}"
                + (" (bank_max_pdq_distance)" if top else " (an exact signal matches exactly)")
            )
        checked[str(signal_type)] = value
    return checked


def _operator_only(by_operator: bool, what: str) -> None:
    if not by_operator:
        raise Forbidden(f"only the operator organisation may {what}")


def parse_thresholds(pairs: list[str] | tuple[str, ...]) -> dict[str, int]:
    """``["pdq=31", "md5=0"]`` -> ``{"pdq": 31, "md5": 0}``, or InvalidInput saying which."""
    thresholds: dict[str, int] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        try:
            signal_type = SignalType(name.strip().lower())
            value = int(raw)
        except ValueError:
            raise InvalidInput(f"threshold {pair!r} is not SIGNAL=INTEGER (e.g. pdq=31)") from None
        if not sep or not 0 <= value <= 256:
            raise InvalidInput(f"threshold {pair!r}: give SIGNAL=N with N from 0 to 256")
        thresholds[str(signal_type)] = value
    return thresholds


class BankService:
    """The bank flows, over a store and an event sink.

    Who decides what is acted on (issue 16; docs/banks.md): ``by_operator=False`` says the
    caller speaks for another organisation than the operator (the API passes it for a
    partner's admin); such a caller may not make a bank act without review (``trust
    auto``), set thresholds, nor accept a bank into pooled matching. Thresholds are bounded
    by ``max_distance`` (the ``bank_max_pdq_distance`` setting) for everyone."""

    def __init__(
        self,
        store: BankStore,
        events: EventSink,
        clock: Clock | None = None,
        *,
        max_distance: int = 63,
        staging: ImportStaging | None = None,
    ) -> None:
        self.store = store
        self.events = events
        self.clock = clock or SystemClock()
        self.max_distance = max_distance
        self.staging = staging

    @contextmanager
    def staged(self) -> Iterator[Path]:
        """A private folder for a bank file on its way into an import (the API's and the web's
        uploads), removed when the block ends; after a ``kill -9`` the next start's
        :meth:`recover_interrupted_imports` removes it (:mod:`keepdown.banks.staging`)."""
        if self.staging is None:
            with tempfile.TemporaryDirectory(prefix="keepdown-import-") as folder:
                yield Path(folder)
            return
        with self.staging.folder() as folder:
            yield folder

    def create_bank(
        self,
        name: str,
        *,
        owner: str,
        source: str = "",
        terms: str = "",
        label: str | None = None,
        trust: str = "review",
        thresholds: Mapping[str, int] | None = None,
        by_operator: bool = True,
    ) -> Bank:
        """A new bank; ``label`` is the source's classification label (mapped, kept verbatim).
        ``by_operator``: see the class."""
        if _trust(trust) is TrustLevel.AUTO:
            _operator_only(by_operator, "make a bank act without review (trust auto)")
        if thresholds:
            _operator_only(by_operator, "set a bank's match thresholds")
        if not name or set(name.lower()) - _NAME_CHARS or len(name) > 200:
            raise InvalidInput(
                f"bank name {name!r} must be 1-200 letters, digits, '-', '_' or '.'", bank=name
            )
        spec = BankSpec(
            name=name,
            owner=owner,
            source=source,
            source_terms=terms,
            classification=map_label(label) if label else None,
            default_label=label,
            trust=_trust(trust),
            thresholds=_thresholds(thresholds or {}, self.max_distance),
        )
        return self.store.create_bank(spec, self.clock.now())

    def list_banks(self) -> list[BankDetails]:
        return [self._details(bank, imports=0) for bank in self.store.list_banks()]

    def show_bank(self, name: str, *, imports: int = 10) -> BankDetails:
        return self._details(self.store.get_bank(name), imports=imports)

    def _details(self, bank: Bank, *, imports: int) -> BankDetails:
        runs = self.store.list_imports(bank.id, imports) if imports else []
        return BankDetails(bank=bank, counts=self.store.entry_counts(bank.id), imports=runs)

    def set_enabled(self, name: str, enabled: bool, *, by: str = "") -> Bank:
        return self.change(name, enabled=enabled, by=by)

    def change(
        self,
        name: str,
        *,
        enabled: bool | None = None,
        trust: str | None = None,
        thresholds: Mapping[str, int] | None = None,
        label: str | None = None,
        robust: bool | None = None,
        accepted: bool | None = None,
        by: str = "",
        by_operator: bool = True,
    ) -> Bank:
        """Change a bank's settings (the API's PATCH, the CLI, the web): checked here, stored,
        and recorded as one :class:`~keepdown.events.BankChanged`. The live index picks the
        new settings up on its next refresh; entries keep the label they were imported with.

        ``accepted``: True accepts the bank into pooled matching (by ``by``), False withdraws
        it; accepting sets its trust to ``review`` unless ``trust`` says otherwise in the same
        change (a partner's bank never acts on an earlier ``auto`` the operator did not give).
        ``by_operator``: see the class.
        """
        if trust is not None and _trust(trust) is TrustLevel.AUTO:
            _operator_only(by_operator, "make a bank act without review (trust auto)")
        if thresholds:
            _operator_only(by_operator, "set a bank's match thresholds")
        if accepted is not None:
            _operator_only(by_operator, "accept a bank into pooled matching")
            if accepted and trust is None:
                trust = str(TrustLevel.REVIEW)
        change = BankSettingsChange(
            enabled=enabled,
            trust=_trust(trust) if trust is not None else None,
            thresholds=(
                _thresholds(thresholds, self.max_distance) if thresholds is not None else None
            ),
            label=label,
            classification=map_label(label) if label is not None else None,
            robust=robust,
            accepted=accepted,
            accepted_by=by,
        )
        bank = self.store.change_settings(name, change, self.clock.now())
        if change.described():
            self.events.emit(
                BankChanged(at=self.clock.now(), bank=name, changes=change.described(), by=by)
            )
        return bank

    def recover_interrupted_imports(self, *, grace: timedelta = timedelta(minutes=2)) -> list[int]:
        """Remove the staged bank files of this host's stopped processes, and mark ``failed``
        the imports a killed process left ``running`` (nothing of them landed: an import is
        one transaction); run when ``keepdown serve`` starts. Imports started
        less than ``grace`` ago, and imports under way, are left alone."""
        if self.staging is not None and (swept := self.staging.sweep()):
            log.warning("removed %d bank files a stopped process left staged", swept)
        now = self.clock.now()
        ids = self.store.fail_interrupted_imports(now - grace, now)
        for import_id in ids:
            log.warning("import %d was interrupted (its process stopped); marked failed", import_id)
        return ids

    def import_file(
        self,
        name: str,
        path: Path | str,
        *,
        fmt: str | None = None,
        signal_type: str | None = None,
        skip_invalid: bool = False,
        restore: bool = False,
        verify_key: Path | str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ImportResult:
        """Import a bank file (see the module docstring for the steps)."""
        path = Path(path)
        bank = self.store.get_bank(name)
        if not path.is_file():
            raise NotFound(f"no file at {path}", path=str(path))
        if verify_key is not None:
            signing.verify_file(path, Path(verify_key))
        source = ImportFile(name=path.name, sha256=_sha256(path))
        items = formats.read_file(
            path, fmt, signal_type=signal_type, default_label=bank.default_label
        )
        result = self.store.import_entries(
            bank, items, source, self.clock.now(),
            skip_invalid=skip_invalid, restore=restore, progress=progress,
        )  # fmt: skip
        self._imported(bank, result, path.name)
        return result

    def _imported(self, bank: Bank, result: ImportResult, file_name: str) -> None:
        """Step 4: one event for the whole import."""
        self.events.emit(
            BankImported(
                at=self.clock.now(),
                bank=bank.name,
                added=result.added,
                already_present=result.already_present,
                skipped_invalid=result.invalid,
                source_file=file_name,
            )
        )

    def add_entry(self, name: str, record: EntryRecord, *, restore: bool = False) -> ImportResult:
        """Add one hash (an analyst's or the API's); emits BankEntryAdded if it was new."""
        bank = self.store.get_bank(name)
        source = ImportFile(
            name="(single entry)",
            sha256=hashlib.sha256(f"{record.signal_type}:{record.value}".encode()).hexdigest(),
        )
        result = self.store.import_entries(
            bank, [record], source, self.clock.now(), restore=restore
        )
        if result.added or result.restored:
            self.events.emit(
                BankEntryAdded(
                    at=self.clock.now(),
                    bank=bank.name,
                    signal_type=str(record.signal_type),
                    value=record.value,
                )
            )
        return result

    def export(self, name: str, stream: TextIO, fmt: str, *, include_removed: bool = True) -> int:
        """Write the bank's entries (and, by default, its tombstones) to ``stream``.

        A format that cannot carry tombstones (plain, pytx, hma) skips them: that is logged as
        a warning with the count (:meth:`tombstones_dropped` says it before the export)."""
        bank = self.store.get_bank(name)
        dropped = self._dropped(bank, fmt) if include_removed else 0
        if dropped:
            log.warning(_DROPPED, dropped, bank.name, fmt)
        entries = self.store.iter_entries(bank.id, include_removed=include_removed)
        header = {
            "name": bank.name,
            "source": bank.source,
            "terms": bank.source_terms,
            "label": bank.default_label,
        }
        return formats.write_entries((e.to_record() for e in entries), stream, fmt, bank=header)

    def tombstones_dropped(self, name: str, fmt: str) -> str | None:
        """The warning an export of ``name`` in ``fmt`` carries, or None: how many removals
        the format cannot tell peers about."""
        bank = self.store.get_bank(name)
        dropped = self._dropped(bank, fmt)
        return (_DROPPED % (dropped, bank.name, fmt)) if dropped else None

    def _dropped(self, bank: Bank, fmt: str) -> int:
        if fmt in formats.CARRY_TOMBSTONES:
            return 0
        return sum(c["removed"] for c in self.store.entry_counts(bank.id).values())

    def export_file(
        self,
        name: str,
        path: Path | str,
        fmt: str | None = None,
        *,
        include_removed: bool = True,
        sign_key: Path | str | None = None,
    ) -> tuple[int, Path | None]:
        """Export to ``path`` (format from its suffix unless given); with ``sign_key`` also
        write ``path.sig``. Returns (entries written, signature path or None)."""
        path = Path(path)
        sign_key = Path(sign_key) if sign_key is not None else None
        fmt = fmt or _format_for_suffix(path)
        with files.open_private(path, "w", encoding="utf-8", newline="") as stream:
            written = self.export(name, stream, fmt, include_removed=include_removed)
        signature = signing.sign_file(path, sign_key) if sign_key is not None else None
        return written, signature

    def remove_entry(
        self, name: str, signal_type: str, value: str, reason: str = "other"
    ) -> Tombstone:
        """Remove one hash from a bank, leaving a tombstone with ``reason``."""
        try:
            why = RemovalReason(reason)
        except ValueError:
            choices = ", ".join(r.value for r in RemovalReason)
            raise InvalidInput(f"removal reason {reason!r}: expected one of {choices}") from None
        hex_value = parse_hash(signal_type, value).hex
        bank = self.store.get_bank(name)
        tombstone = self.store.remove_entry(bank, signal_type, hex_value, why, self.clock.now())
        self.events.emit(
            BankEntryRemoved(
                at=tombstone.removed_at,
                bank=bank.name,
                signal_type=str(tombstone.signal_type),
                value=tombstone.value,
                reason=str(why),
            )
        )
        return tombstone


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def export_format(path: Path | None, fmt: str | None) -> str:
    """The format an export to ``path`` (None: a stream, JSON Lines by default) will use."""
    if fmt is not None:
        return fmt
    return "jsonl" if path is None else _format_for_suffix(path)


def _format_for_suffix(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    by_suffix = {"jsonl": "jsonl", "ndjson": "jsonl", "csv": "csv", "txt": "plain", "te": "hma"}
    if suffix not in by_suffix:
        raise UsageError(f"cannot tell the export format from {path.name!r}: pass --format")
    return by_suffix[suffix]
