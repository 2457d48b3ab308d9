"""Feeds: banks filled from a hash exchange, as plain frozen values, and the store they live in.

A :class:`Feed` is a bank whose entries come from an exchange (NCMEC, StopNCII, ThreatExchange,
a peer keepdown). It holds how to reach the exchange (a base URL, kind-specific options, and
the *names* of the environment variables that hold its secrets: never a secret itself), when
to fetch (every ``every_seconds``), whether review decisions flow back (``feedback``), and the
guards applied to what it brings in. Its :class:`FeedState` is where a fetch stands: the
:class:`~keepdown.exchanges.checkpoint.Checkpoint`, the last outcome and the lease of the
worker running it.

:class:`FeedStore` is what the sync needs from storage; ``keepdown.storage.feed_store``
implements it on SQL and :class:`~keepdown.exchanges.memory.MemoryFeedStore` in memory. The
one write that matters, :meth:`FeedStore.apply_page`, lands a page of records, their bank
entries, their provenance and the checkpoint after them in ONE transaction: that is what makes
an interrupted fetch resume exactly where the database says it stopped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from keepdown.errors import InvalidInput
from keepdown.exchanges.checkpoint import Checkpoint
from keepdown.exchanges.guards import GuardConfig
from keepdown.exchanges.records import ExchangeRecord, RecordError

__all__ = [
    "Feed",
    "FeedKind",
    "FeedRecordView",
    "FeedSpec",
    "FeedState",
    "FeedStatus",
    "FeedStore",
    "PageResult",
    "check_secret_refs",
]


class FeedKind(StrEnum):
    """Which exchange a feed reads (each has its own client in ``keepdown.exchanges.clients``)."""

    NCMEC = "ncmec"
    STOPNCII = "stopncii"
    THREATEXCHANGE = "threatexchange"
    KEEPDOWN = "keepdown"


class FeedStatus(StrEnum):
    """Where a feed's fetching stands."""

    IDLE = "idle"  # nothing under way; the next run starts at its schedule
    RUNNING = "running"  # a worker holds the lease
    RETRYING = "retrying"  # the last run failed in a way a later run may not (503, timeout)
    STALLED = "stalled"  # the last run could not get past one page: an operator must look
    FAILED = "failed"  # refused for good (bad credentials, bad options): fix and resume


#: Environment variable names a secret may be kept in (letters, digits, underscores).
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def check_secret_refs(secrets: Mapping[str, str]) -> dict[str, str]:
    """``secrets`` (secret name -> environment variable name), or InvalidInput.

    A feed stores only where its secrets are, never their values: the environment variable's
    name is checked to look like one, so a pasted password is refused instead of stored."""
    out: dict[str, str] = {}
    for name, variable in secrets.items():
        if not _ENV_NAME.match(variable or ""):
            raise InvalidInput(
                f"secret {name!r} must name the environment variable that holds it "
                "(letters, digits and '_'), not the secret itself",
                secret=name,
            )
        out[str(name)] = str(variable)
    return out


@dataclass(frozen=True)
class FeedSpec:
    """What a new feed is made from. ``bank`` must exist already (the feed fills it)."""

    bank: str
    kind: FeedKind
    url: str
    options: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    every_seconds: int = 3600
    feedback: bool = False
    quarantine: bool = True
    guards: GuardConfig = field(default_factory=GuardConfig)
    enabled: bool = True


@dataclass(frozen=True)
class Feed:
    """A stored feed: the bank it fills and how (module docstring)."""

    id: int
    bank: str
    bank_id: int
    kind: FeedKind
    url: str
    options: Mapping[str, Any]
    secrets: Mapping[str, str]
    every_seconds: int
    feedback: bool
    quarantine: bool
    guards: GuardConfig
    enabled: bool
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        """A feed is named after its bank."""
        return self.bank

    def describe(self) -> dict[str, Any]:
        """The feed as shown to people and exports: secrets by variable name only."""
        return {
            "name": self.bank,
            "kind": str(self.kind),
            "url": self.url,
            "options": dict(self.options),
            "secrets": {k: f"${v}" for k, v in self.secrets.items()},
            "every_seconds": self.every_seconds,
            "feedback": self.feedback,
            "quarantine": self.quarantine,
            "guards": self.guards.to_dict(),
            "enabled": self.enabled,
        }


@dataclass(frozen=True)
class FeedState:
    """Where a feed's fetching stands (module docstring)."""

    feed_id: int
    checkpoint: Checkpoint
    status: FeedStatus = FeedStatus.IDLE
    last_error: str = ""
    checkpoint_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    succeeded_at: datetime | None = None
    next_run_at: datetime | None = None
    lease_owner: str | None = None
    lease_expires: datetime | None = None
    records: int = 0  # records applied (every run, every page)
    pages: int = 0
    bad_records: int = 0  # records the exchange sent that could not be read
    failures: int = 0  # consecutive failed runs (for back-off)


@dataclass(frozen=True)
class PageResult:
    """What applying one page did to the bank."""

    records: int = 0  # records in the page (after removing duplicates)
    stale: int = 0  # older than what the feed already had (last writer wins): not applied
    bad: int = 0  # could not be read (RecordError)
    added: int = 0  # bank entries new to the bank
    restored: int = 0  # entries the exchange had withdrawn and now sends again
    removed: int = 0  # entries no live record carries any more (tombstoned)
    guarded: int = 0  # entries held back by a low-information guard (tombstoned)
    reconciled: int = 0  # records withdrawn because a full fetch did not bring them

    def __add__(self, other: PageResult) -> PageResult:
        return PageResult(
            **{name: getattr(self, name) + getattr(other, name) for name in _RESULT_FIELDS}
        )

    @property
    def changed_entries(self) -> int:
        return self.added + self.restored + self.removed + self.guarded


_RESULT_FIELDS = (
    "records",
    "stale",
    "bad",
    "added",
    "restored",
    "removed",
    "guarded",
    "reconciled",
)


@dataclass(frozen=True)
class FeedRecordView:
    """One stored exchange record with the bank entries it carries (provenance pages)."""

    id: int
    feed_id: int
    key: str
    member: str | None
    kind: str | None
    label: str | None
    status: str | None
    deleted: bool
    updated_at: datetime
    first_seen_at: datetime
    last_seen_at: datetime
    fingerprints: Mapping[str, str]
    extra: Mapping[str, Any]
    entry_ids: tuple[int, ...] = ()


class FeedStore(Protocol):
    """Persistence of feeds, their checkpoints and their records (module docstring)."""

    def create_feed(self, spec: FeedSpec, now: datetime) -> Feed:
        """Store a new feed on an existing bank; Conflict if the bank already has one."""
        ...

    def get_feed(self, name: str) -> Feed:
        """The feed of the bank called ``name``; NotFound otherwise."""
        ...

    def list_feeds(self) -> list[Feed]: ...

    def update_feed(self, name: str, changes: Mapping[str, Any], now: datetime) -> Feed:
        """Change some of a feed's settings (the names of :class:`FeedSpec`'s fields)."""
        ...

    def delete_feed(self, name: str) -> None:
        """Forget the feed, its checkpoint and records; the bank and its entries stay."""
        ...

    def get_feed_by_id(self, feed_id: int) -> Feed: ...

    def get_state(self, feed_id: int) -> FeedState: ...

    def set_status(self, feed_id: int, status: FeedStatus, error: str = "") -> None: ...

    def counts(self, feed_id: int) -> dict[str, int]:
        """The feed's records by state (active, withdrawn, held back...)."""
        ...

    def entry_signal(self, entry_id: int) -> tuple[str, str] | None:
        """(signal type, value) of a bank entry (feedback names what matched)."""
        ...

    def due_feeds(self, now: datetime) -> list[Feed]:
        """Enabled feeds whose next run is due and that no live lease holds."""
        ...

    def take_lease(self, feed_id: int, owner: str, now: datetime, until: datetime) -> bool:
        """Hold the feed for one run (False when another worker's lease is still live)."""
        ...

    def release(
        self,
        feed_id: int,
        owner: str,
        now: datetime,
        *,
        status: FeedStatus,
        error: str = "",
        next_run_at: datetime | None,
        succeeded: bool,
    ) -> None:
        """End a run: drop the lease, record its outcome and when the next one is due."""
        ...

    def set_checkpoint(self, feed_id: int, checkpoint: Checkpoint, now: datetime) -> None:
        """Replace the checkpoint alone (a resync, a reset, an operator's skip)."""
        ...

    def apply_page(
        self,
        feed: Feed,
        records: Sequence[ExchangeRecord | RecordError],
        checkpoint: Checkpoint,
        now: datetime,
        *,
        reconcile: int | None = None,
    ) -> PageResult:
        """Land a page and the checkpoint after it in one transaction (module docstring).

        Records are applied last-writer-wins by the exchange's ``updated_at``, so the order
        pages arrive in, and a page applied twice, change nothing. With ``reconcile`` (the
        generation of a full fetch that ends with this page) every record of the feed not
        seen by that generation is withdrawn."""
        ...

    def records(
        self, feed_id: int, *, after: int = 0, limit: int = 100, entry_id: int | None = None
    ) -> list[FeedRecordView]:
        """Stored records by id (keyset pages), or the live records carrying one bank entry."""
        ...

    def restore_guarded(self, feed: Feed, now: datetime) -> int:
        """Re-check the entries a guard held back against the feed's current guards; those
        that pass now become matchable. How many did."""
        ...
