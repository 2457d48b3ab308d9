"""The event chain: every stored event's hash commits to it and to every event before it.

For the event at position ``n`` (its encoded bytes ``e_n``, :mod:`keepdown.evidence.encoding`):

1. ``leaf_n = SHA-256(0x00 || e_n)``: the event alone;
2. ``hash_n = SHA-256(0x01 || hash_prev || leaf_n)``, where ``hash_prev`` is the hash of the
   event at the highest position below ``n``, or :data:`GENESIS` for the first event.

The one-byte prefixes keep a leaf from ever being read as a link and back (as RFC 6962 does).
``GENESIS`` is ``SHA-256("keepdown-event-chain-v1")``, the same for every deployment, so the
chain's start is a documented constant; each database also records when its chain started
and how many events it already held then (``event_chain``, migration 0016).

Because each hash covers the one before, changing, removing, inserting or reordering any
stored event changes the hash of every later event. A walk (:func:`walk`) recomputes each
row's hash from the row before it and stops at the first row that does not match. Someone
who rewrote the whole rest of the chain (new hashes from the changed event on) is caught by
any signed checkpoint (:mod:`keepdown.evidence.checkpoints`) made before the rewrite: the
checkpoint names a position and its hash, which the rewritten log no longer has.

Anyone holding the leaves (``leaf_n`` reveals nothing of the event) between two checkpoints
can check, without reading a single event, that the later one extends the earlier one
(:func:`extend`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from keepdown.evidence.encoding import event_bytes

__all__ = [
    "GENESIS",
    "Anchor",
    "ChainBreak",
    "ChainRow",
    "EncodedRow",
    "WalkResult",
    "event_hash",
    "extend",
    "leaf_hash",
    "link_hash",
    "walk",
    "walk_encoded",
    "walk_leaves",
]

GENESIS = hashlib.sha256(b"keepdown-event-chain-v1").digest()
_LEAF = b"\x00"
_LINK = b"\x01"

#: A stored event as the chain reads it: position, kind, at (chain text), payload text, hash
#: (None for a row the chain never sealed).
ChainRow = tuple[int, str, str, str, bytes | None]


def leaf_hash(encoded: bytes) -> bytes:
    """``leaf_n`` of an encoded event."""
    return hashlib.sha256(_LEAF + encoded).digest()


def link_hash(previous: bytes, leaf: bytes) -> bytes:
    """``hash_n`` from the hash before it and the event's leaf."""
    return hashlib.sha256(_LINK + previous + leaf).digest()


def event_hash(previous: bytes, position: int, kind: str, at: str, payload: str) -> bytes:
    """The chain hash of one event, given the hash of the event before it."""
    return link_hash(previous, leaf_hash(event_bytes(position, kind, at, payload)))


@dataclass(frozen=True)
class Anchor:
    """Where a walk starts: a position and the hash the chain has there (0 and GENESIS for
    the start of the log; a checkpoint's position and head to start from a checkpoint)."""

    position: int = 0
    hash: bytes = GENESIS


@dataclass(frozen=True)
class ChainBreak:
    """The first place where the stored log and its chain disagree.

    ``reason``: ``changed`` (the event there, or the hash of the one before it, is not what
    was chained: edited, moved, or inserted), ``missing`` (positions before it are gone),
    ``unsealed`` (a row without a hash), ``anchor`` (the position a walk started from does not
    carry the expected hash: the log was rewritten at or before it), ``truncated`` (a signed
    checkpoint names a position past the end of the log)."""

    position: int
    reason: str
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"position": self.position, "reason": self.reason, "message": self.message}


@dataclass
class WalkResult:
    """What a walk saw: how many events it checked and the hash it ended on."""

    anchor: Anchor
    checked: int = 0
    first: int | None = None
    last: int | None = None
    head: bytes = b""
    broken: ChainBreak | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.broken is None

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "from": {"position": self.anchor.position, "hash": self.anchor.hash.hex()},
            "checked": self.checked,
            "first": self.first,
            "last": self.last,
            "head": self.head.hex(),
            "break": self.broken.to_dict() if self.broken else None,
            "notes": list(self.notes),
        }


def walk(rows: Iterable[ChainRow], anchor: Anchor = Anchor(), *, dense_from: int = 1) -> WalkResult:
    """Check ``rows`` (in position order, all after ``anchor``) and stop at the first break.

    From ``dense_from`` on (the first event written with the chain live) positions follow
    each other with no gap, so a gap there is reported as ``missing``; below it (events the
    migration chained) ids may have gaps the database left before the chain existed.
    """
    encoded = (
        (p, None if None in (k, a, pl) else event_bytes(p, k, a, pl), h) for p, k, a, pl, h in rows
    )
    return walk_encoded(encoded, anchor, dense_from=dense_from)


#: A stored event already encoded (``event_bytes``) or already reduced to its leaf hash.
EncodedRow = tuple[int, bytes | None, bytes | None]


def walk_encoded(
    rows: Iterable[EncodedRow], anchor: Anchor = Anchor(), *, dense_from: int = 1
) -> WalkResult:
    """:func:`walk` over (position, encoded event, stored hash) rows: the fast path, when the
    database builds the encoded bytes itself (storage's SQLite reader)."""
    sha256 = hashlib.sha256
    return _walk(rows, anchor, dense_from, lambda data: sha256(_LEAF + data).digest())


def walk_leaves(
    rows: Iterable[EncodedRow], anchor: Anchor = Anchor(), *, dense_from: int = 1
) -> WalkResult:
    """:func:`walk` over (position, leaf hash, stored hash) rows (PostgreSQL computes leaves)."""
    return _walk(rows, anchor, dense_from, None)


def _walk(
    rows: Iterable[EncodedRow],
    anchor: Anchor,
    dense_from: int,
    to_leaf: Callable[[bytes], bytes] | None,
) -> WalkResult:
    sha256 = hashlib.sha256
    result = WalkResult(anchor=anchor, head=anchor.hash)
    previous, before = anchor.hash, anchor.position
    checked = 0
    for position, data, stored in rows:
        if checked == 0:
            result.first = position
        if stored is None:
            result.broken = _unsealed(position)
            break
        if position != before + 1 and before + 1 >= dense_from:
            result.broken = _missing(position, before)  # even if later hashes were rewritten
            break
        if data is None:  # a column emptied (NULL): nothing to hash
            result.broken = _mismatch(position, before)
            break
        leaf = to_leaf(data) if to_leaf is not None else data
        if stored != sha256(_LINK + previous + leaf).digest():
            result.broken = _mismatch(position, before)
            break
        previous, before = stored, position
        checked += 1
    result.checked = checked
    result.last = before if checked else None
    result.head = previous
    return result


def _unsealed(position: int) -> ChainBreak:
    return ChainBreak(
        position, "unsealed", f"the event at position {position} carries no chain hash"
    )


def _missing(position: int, before: int) -> ChainBreak:
    if position <= before:
        return ChainBreak(
            position, "changed", f"position {position} comes again after position {before}"
        )
    gap = f"{before + 1}" if position == before + 2 else f"{before + 1} to {position - 1}"
    return ChainBreak(
        before + 1,
        "missing",
        f"position {gap} is missing: the event(s) there were removed "
        f"(position {before} is followed by {position})",
    )


def _mismatch(position: int, before: int) -> ChainBreak:
    message = (
        f"the event at position {position} does not match its chain hash: it was changed, "
        "moved or inserted, or the event before it was rewritten together with its hash"
    )
    if position > before + 1:  # below dense_from: the gap may be the database's own
        message += f", or events between positions {before} and {position} were removed"
    return ChainBreak(position, "changed", message)


def extend(anchor: Anchor, leaves: Sequence[tuple[int, bytes]]) -> Anchor:
    """The anchor reached from ``anchor`` through the given (position, leaf) pairs.

    A holder of a checkpoint at ``anchor`` checks that a later checkpoint extends it by
    extending with the leaves published between them and comparing hashes."""
    current = anchor.hash
    position = anchor.position
    for at_position, leaf in leaves:
        if at_position <= position:
            raise ValueError(f"leaves must follow position {position}, got {at_position}")
        current = link_hash(current, leaf)
        position = at_position
    return Anchor(position, current)
