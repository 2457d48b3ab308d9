"""The shared-bank feed: signed, paged and checkpointed, from a publisher to one peer.

A publisher serves one published bank to one peer as pages of **changes** (an entry's
current state: ``add`` a live entry, ``classify`` a live entry sent again because the bank's
classification changed, ``tombstone`` a removed one). Changes are states, not deltas: the
subscriber applies them last writer wins on ``updated_at`` (the feed mechanism of
``keepdown.exchanges``), so a page applied twice changes nothing.

**The cursor** (:class:`Cursor`, text ``1.<epoch>.<serial>.<entry id>.<removed at>.<id>``)
is the checkpoint a page ends at. It walks two keyset streams of the bank: entries by id (each
in its state at the time it is read), then tombstones by (removed at, id); ``epoch`` is a
digest of the bank's classification: when it changes, the entry stream starts again so every
entry is sent with its new classification. ``serial`` counts the pages since the start.

**A page** (:func:`page_body`) carries, besides its changes: the publisher, the *audience*
(the peer organisation it was served to), the bank, ``after`` (the cursor it was asked from),
``until`` (the cursor it ends at), its ``serial``, ``more`` (another page follows at once),
the subscriber's **nonce** (fresh per request) and when it was issued. It travels in an
envelope signed under :data:`~keepdown.federation.wire.PAGE_CONTEXT`.

**Verification** (:func:`verify_page`), in this order, each refusal with its reason:
the envelope's key and signature (``unknown_key``, ``tampered``); the body's type and fields
(``malformed``); publisher, audience and bank are the ones asked for (``misdirected``); the
nonce is the one sent with this request (``replayed``: an answer recorded earlier and served
again); ``after`` is the subscriber's own checkpoint and ``serial`` the next one
(``out_of_order``); issued within ``max_age`` (``stale``).

Only ``pdq``, ``md5``, ``sha1`` and ``sha256`` entries are served (a vPDQ entry lists every
frame of a video; it is not a bank-feed change here). Media never crosses: only hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from keepdown.banks.classification import Classification
from keepdown.banks.model import Bank, Entry
from keepdown.federation.wire import PAGE_CONTEXT, Refused, Signer, open_envelope, seal

__all__ = [
    "SERVED_SIGNALS",
    "BankPage",
    "Change",
    "ChangeReader",
    "Cursor",
    "EntryRow",
    "PageRequest",
    "classification_epoch",
    "entry_row",
    "page_body",
    "read_changes",
    "serve_page",
    "verify_page",
]

SERVED_SIGNALS = frozenset({"pdq", "md5", "sha1", "sha256"})
CURSOR_VERSION = "1"
PAGE_TYPE = "bank_page"
OPS = ("add", "classify", "tombstone")


def classification_epoch(bank: Bank) -> str:
    """A short digest of the bank's classification: a new one re-sends every entry."""
    c = bank.classification
    text = f"{bank.default_label or ''}|{c.category if c else ''}|{c.maturity if c else ''}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _micros(moment: datetime) -> int:
    """Microseconds since the epoch (a float's error at today's times is < 0.3 us, so the
    rounding is exact; timedelta arithmetic on aware datetimes costs ten times more)."""
    return round(moment.timestamp() * 1_000_000)


def _from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, UTC)


@dataclass(frozen=True)
class Cursor:
    """Where a peer's reading of a bank stands (module docstring)."""

    epoch: str = ""
    serial: int = 0
    entry_id: int = 0
    removed_us: int = 0
    removed_id: int = 0

    def text(self) -> str:
        if self == Cursor():
            return ""
        return ".".join(
            (
                CURSOR_VERSION,
                self.epoch,
                str(self.serial),
                str(self.entry_id),
                str(self.removed_us),
                str(self.removed_id),
            )
        )

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        """The cursor of ``text`` ('' or None: the start); Refused(malformed) otherwise."""
        if not text:
            return cls()
        parts = str(text).split(".")
        try:
            if len(parts) != 6 or parts[0] != CURSOR_VERSION or len(parts[1]) > 32:
                raise ValueError(text)
            serial, entry_id, removed_us, removed_id = (int(p) for p in parts[2:])
        except ValueError:
            raise Refused("malformed", f"not a bank-feed cursor: {str(text)[:80]!r}") from None
        if min(serial, entry_id, removed_us, removed_id) < 0:
            raise Refused("malformed", "a cursor's numbers are not negative")
        return cls(parts[1], serial, entry_id, removed_us, removed_id)


@dataclass(frozen=True, slots=True)
class Change:
    """One entry's state as a page carries it."""

    op: str
    signal_type: str
    value: str
    updated_at: datetime
    category: str | None = None
    maturity: str | None = None
    label: str | None = None

    def to_wire(self) -> list[Any]:
        return [
            self.op,
            self.signal_type,
            self.value,
            _micros(self.updated_at),
            self.category,
            self.maturity,
            self.label,
        ]

    @classmethod
    def from_wire(cls, item: Any) -> Change:
        if not isinstance(item, list) or len(item) != 7 or item[0] not in OPS:
            raise ValueError(
                "a change is [op, signal, value, updated_us, category, maturity, label]"
            )
        op, signal, value, updated, category, maturity, label = item
        if (
            signal not in SERVED_SIGNALS
            or not isinstance(value, str)
            or not isinstance(updated, int)
        ):
            raise ValueError(f"a change of signal {str(signal)[:20]!r} is not served")
        return cls(op, signal, value, _from_micros(updated), category, maturity, label)

    @property
    def deleted(self) -> bool:
        return self.op == "tombstone"

    @property
    def classification(self) -> Classification | None:
        if self.category is None:
            return None
        return Classification(self.category, self.maturity or "unknown")  # type: ignore[arg-type]


#: An entry as the publisher reads it: (id, signal type, value, added at, removed at,
#: category, maturity, source label). Plain tuples: a million are read for a full sync.
EntryRow = tuple[int, str, str, datetime, datetime | None, str | None, str | None, str | None]


def entry_row(entry: Entry) -> EntryRow:
    """The row of a bank entry (for readers holding :class:`Entry` values)."""
    c = entry.classification
    return (
        entry.id,
        str(entry.signal_type),
        entry.value,
        entry.added_at,
        entry.removed_at,
        str(c.category) if c else None,
        str(c.maturity) if c else None,
        entry.source_label,
    )


class ChangeReader(Protocol):
    """What the publisher reads of a bank (``keepdown.storage.peer_store``)."""

    def entries_after(self, bank_id: int, after_id: int, limit: int) -> list[EntryRow]:
        """Entries (tombstones too) with id above ``after_id``, by id."""
        ...

    def tombstones_after(
        self, bank_id: int, after: datetime, after_id: int, limit: int
    ) -> list[EntryRow]:
        """Removed entries after (removed at, id), in that order."""
        ...


def _change(row: EntryRow, op: str) -> Change | None:
    _id, signal, value, added, removed, category, maturity, label = row
    if signal not in SERVED_SIGNALS:
        return None
    if removed is not None:
        return Change("tombstone", signal, value, max(added, removed), category, maturity, label)
    return Change(op, signal, value, added, category, maturity, label)


def read_changes(
    reader: ChangeReader, bank: Bank, cursor: Cursor, limit: int
) -> tuple[list[Change], Cursor, bool]:
    """The changes after ``cursor`` (at most ``limit``), the cursor after them, and whether
    more follow (module docstring: the two streams and the epoch)."""
    epoch = classification_epoch(bank)
    op = "add"
    if cursor.epoch and cursor.epoch != epoch:  # the bank's classification changed
        cursor, op = replace(cursor, entry_id=0), "classify"
    changes: list[Change] = []
    rows = reader.entries_after(bank.id, cursor.entry_id, limit)
    entry_id = rows[-1][0] if rows else cursor.entry_id
    changes.extend(c for c in (_change(e, op) for e in rows) if c is not None)
    removed_us, removed_id = cursor.removed_us, cursor.removed_id
    more = len(rows) >= limit
    if not more:
        room = limit - len(rows)
        tombs = reader.tombstones_after(bank.id, _from_micros(removed_us), removed_id, room)
        if tombs:
            last_id, last_removed = tombs[-1][0], tombs[-1][4]
            assert last_removed is not None
            removed_us, removed_id = _micros(last_removed), last_id
        changes.extend(c for c in (_change(e, "add") for e in tombs) if c is not None)
        more = len(tombs) >= room
    after = Cursor(epoch, cursor.serial + 1, entry_id, removed_us, removed_id)
    return changes, after, more


@dataclass(frozen=True)
class PageRequest:
    """What a subscriber asked for: the page after ``after``, answered to ``nonce``."""

    publisher: str
    audience: str
    bank: str
    after: str
    nonce: str


def page_body(
    request: PageRequest,
    changes: Sequence[Change],
    until: Cursor,
    more: bool,
    issued_at: datetime,
    *,
    label: str | None = None,
) -> dict[str, Any]:
    """The body of one page (module docstring)."""
    return {
        "type": PAGE_TYPE,
        "v": 1,
        "publisher": request.publisher,
        "audience": request.audience,
        "bank": request.bank,
        "label": label,
        "after": request.after,
        "until": until.text(),
        "serial": until.serial,
        "more": more,
        "nonce": request.nonce,
        "issued_at": issued_at.astimezone(UTC).isoformat(),
        "changes": [c.to_wire() for c in changes],
    }


def serve_page(
    reader: ChangeReader,
    bank: Bank,
    request: PageRequest,
    signer: Signer,
    now: datetime,
    *,
    limit: int,
) -> dict[str, Any]:
    """The signed envelope of the page after ``request.after`` (the publisher's side)."""
    if not 1 <= len(request.nonce) <= 128:
        raise Refused("malformed", "a page request carries a nonce of 1-128 characters")
    cursor = Cursor.parse(request.after)
    changes, until, more = read_changes(reader, bank, cursor, limit)
    body = page_body(request, changes, until, more, now, label=bank.default_label)
    return seal(body, signer, context=PAGE_CONTEXT)


@dataclass(frozen=True)
class BankPage:
    """A verified page."""

    bank: str
    after: str
    until: str
    serial: int
    more: bool
    issued_at: datetime
    changes: tuple[Change, ...]
    label: str | None = None


def verify_page(
    envelope: Mapping[str, Any] | bytes | str,
    public_key: bytes,
    request: PageRequest,
    now: datetime,
    *,
    max_age: timedelta = timedelta(minutes=10),
) -> BankPage:
    """The page of ``envelope`` if it is the answer to ``request`` (module docstring)."""
    body = open_envelope(envelope, public_key, context=PAGE_CONTEXT)
    if body.get("type") != PAGE_TYPE or body.get("v") != 1:
        raise Refused("malformed", f"not a bank page: type {str(body.get('type'))[:40]!r}")
    for name, expected in (
        ("publisher", request.publisher),
        ("audience", request.audience),
        ("bank", request.bank),
    ):
        if body.get(name) != expected:
            raise Refused(
                "misdirected",
                f"the page's {name} is {str(body.get(name))[:80]!r}, not {expected!r}",
            )
    if body.get("nonce") != request.nonce:
        raise Refused("replayed", "the page answers another request (its nonce is not ours)")
    if body.get("after") != request.after:
        raise Refused(
            "out_of_order",
            f"the page follows {str(body.get('after'))[:60]!r}, "
            f"not our checkpoint {request.after!r}",
        )
    expected_serial = Cursor.parse(request.after).serial + 1
    until = Cursor.parse(body.get("until"))
    if body.get("serial") != expected_serial or until.serial != expected_serial:
        raise Refused(
            "out_of_order", f"page serial {body.get('serial')!r} where {expected_serial} is next"
        )
    issued = _issued(body)
    if now - issued > max_age or issued - now > max_age:
        raise Refused("stale", f"issued at {issued.isoformat()}, outside {max_age} of now")
    try:
        changes = tuple(Change.from_wire(item) for item in body.get("changes") or [])
    except (ValueError, TypeError) as exc:
        raise Refused("malformed", str(exc)) from None
    return BankPage(
        bank=request.bank,
        after=request.after,
        until=until.text(),
        serial=expected_serial,
        more=bool(body.get("more")),
        issued_at=issued,
        changes=changes,
        label=body.get("label"),
    )


def _issued(body: Mapping[str, Any]) -> datetime:
    try:
        issued = datetime.fromisoformat(str(body.get("issued_at")))
    except ValueError:
        raise Refused("malformed", "issued_at is not an ISO 8601 time") from None
    if issued.tzinfo is None:
        raise Refused("malformed", "issued_at has no time zone")
    return issued
