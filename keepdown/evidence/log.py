"""What the evidence code needs from the stored log: the chain's rows and its checkpoints.

:class:`ChainStore` and :class:`CheckpointStore` are implemented on SQL by
:mod:`keepdown.storage.event_chain` and :mod:`keepdown.storage.checkpoint_store`;
:class:`MemoryChain` is the in-memory twin (it chains events as the database triggers do), used
by tests and by anything that wants a chain without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from keepdown.events import Event
from keepdown.evidence.chain import (
    GENESIS,
    Anchor,
    ChainRow,
    WalkResult,
    event_hash,
    leaf_hash,
    walk,
)
from keepdown.evidence.checkpoints import SignedCheckpoint
from keepdown.evidence.encoding import at_text, event_bytes, event_payload

__all__ = ["ChainInfo", "ChainStore", "CheckpointStore", "MemoryChain", "MemoryCheckpoints"]


@dataclass(frozen=True)
class ChainInfo:
    """A log's chain: format version, genesis, when it started, the first position written
    live (``live_from``; dense from there on) and how many events it started with."""

    version: int
    genesis: bytes
    started_at: datetime
    live_from: int
    backfilled: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "genesis": self.genesis.hex(),
            "started_at": self.started_at.isoformat(),
            "live_from": self.live_from,
            "backfilled": self.backfilled,
        }


class ChainStore(Protocol):
    def info(self) -> ChainInfo: ...

    def head(self) -> Anchor: ...

    def hash_at(self, position: int) -> bytes | None: ...

    def hashes_at(self, positions: Sequence[int]) -> dict[int, bytes]: ...

    def before(self, position: int) -> Anchor: ...

    def rows(self, after: int = 0, upto: int | None = None) -> Iterator[ChainRow]: ...

    def walk(
        self, anchor: Anchor, *, dense_from: int, upto: int | None = None, jobs: int = 1
    ) -> WalkResult:
        """:func:`keepdown.evidence.chain.walk` over the rows after ``anchor`` (a store may
        do it faster than reading :meth:`rows`)."""
        ...

    def leaves(self, first: int, last: int) -> Iterator[tuple[int, bytes]]: ...


class CheckpointStore(Protocol):
    def add(self, checkpoint: SignedCheckpoint) -> bool:
        """Store it; False when one is already stored at that position."""
        ...

    def latest(self) -> SignedCheckpoint | None: ...

    def list(self, *, after: int = 0, limit: int = 100) -> list[SignedCheckpoint]:
        """Checkpoints at positions after ``after``, oldest first."""
        ...


@dataclass
class MemoryChain:
    """Events chained in memory exactly as the database chains them."""

    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    stored: list[ChainRow] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        self.append(event.kind, at_text(event.at), event_payload(event))

    def append(self, kind: str, at: str, payload: str) -> int:
        head = self.head()
        position = head.position + 1
        hashed = event_hash(head.hash, position, kind, at, payload)
        self.stored.append((position, kind, at, payload, hashed))
        return position

    def info(self) -> ChainInfo:
        return ChainInfo(1, GENESIS, self.started_at, 1, 0)

    def head(self) -> Anchor:
        if not self.stored:
            return Anchor(0, GENESIS)
        position, *_, hashed = self.stored[-1]
        return Anchor(position, hashed or b"")

    def hash_at(self, position: int) -> bytes | None:
        return self.hashes_at([position]).get(position)

    def hashes_at(self, positions: Sequence[int]) -> dict[int, bytes]:
        wanted = set(positions)
        return {row[0]: row[4] for row in self.stored if row[0] in wanted and row[4] is not None}

    def before(self, position: int) -> Anchor:
        earlier = [row for row in self.stored if row[0] < position]
        return Anchor(earlier[-1][0], earlier[-1][4] or b"") if earlier else Anchor(0, GENESIS)

    def rows(self, after: int = 0, upto: int | None = None) -> Iterator[ChainRow]:
        for row in self.stored:
            if row[0] > after and (upto is None or row[0] <= upto):
                yield row

    def walk(
        self, anchor: Anchor, *, dense_from: int, upto: int | None = None, jobs: int = 1
    ) -> WalkResult:
        return walk(self.rows(anchor.position, upto), anchor, dense_from=dense_from)

    def leaves(self, first: int, last: int) -> Iterator[tuple[int, bytes]]:
        for position, kind, at, payload, _ in self.rows(first - 1, last):
            yield position, leaf_hash(event_bytes(position, kind, at, payload))


@dataclass
class MemoryCheckpoints:
    stored: dict[int, SignedCheckpoint] = field(default_factory=dict)

    def add(self, checkpoint: SignedCheckpoint) -> bool:
        if checkpoint.checkpoint.position in self.stored:
            return False
        self.stored[checkpoint.checkpoint.position] = checkpoint
        return True

    def latest(self) -> SignedCheckpoint | None:
        return self.stored[max(self.stored)] if self.stored else None

    def list(self, *, after: int = 0, limit: int = 100) -> list[SignedCheckpoint]:
        return [self.stored[p] for p in sorted(self.stored) if p > after][:limit]

    def extend(self, checkpoints: Iterable[SignedCheckpoint]) -> None:
        for checkpoint in checkpoints:
            self.add(checkpoint)
