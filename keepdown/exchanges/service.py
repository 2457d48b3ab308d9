"""Feed flows: add, show, change, resync, skip past a stalled page, check the connection.

The rules live here; :class:`~keepdown.exchanges.model.FeedStore` keeps the data and the
bank service makes the bank a feed fills. The CLI (``keepdown feed``), the API
(``/api/v1/feeds``) and the web's bank pages all go through :class:`FeedService`, and audit
what they ask of it where they ask it.

Adding a feed, step by step:

1. check the kind, its options (typos are errors, not silent defaults) and the secrets: each
   names an environment variable (``password=NCMEC_PASSWORD``), never a value;
2. make the bank the feed fills (its source says which exchange; its trust and thresholds are
   the feed's: an exchange's exact matches act without review only with ``trust=auto``), or
   take an existing empty bank;
3. store the feed, due at once: the first run is a full fetch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from keepdown.banks.service import BankService
from keepdown.clock import Clock
from keepdown.errors import Conflict, InvalidInput, UsageError
from keepdown.exchanges.checkpoint import Checkpoint
from keepdown.exchanges.clients import KINDS, check_feed_config
from keepdown.exchanges.clients.options import read_options
from keepdown.exchanges.guards import GuardConfig
from keepdown.exchanges.model import (
    Feed,
    FeedKind,
    FeedSpec,
    FeedState,
    FeedStatus,
    FeedStore,
    check_secret_refs,
)

__all__ = ["EVERY_RANGE", "FeedDetails", "FeedService"]

#: Shortest and longest schedule a feed may have (a minute; a week).
EVERY_RANGE = (60, 7 * 86400)
#: What ``keepdown feed update`` may change.
CHANGEABLE = frozenset(
    {"url", "options", "secrets", "every_seconds", "feedback", "quarantine", "guards", "enabled"}
)


@dataclass(frozen=True)
class FeedDetails:
    """A feed with where it stands and what its bank holds (``feed show``)."""

    feed: Feed
    state: FeedState
    records: Mapping[str, int]
    entries: Mapping[str, Mapping[str, int]]

    def to_dict(self) -> dict[str, Any]:
        s = self.state
        return {
            **self.feed.describe(),
            "status": str(s.status),
            "last_error": s.last_error,
            "checkpoint": s.checkpoint.to_json(),
            "checkpoint_at": _iso(s.checkpoint_at),
            "last_started_at": _iso(s.started_at),
            "last_finished_at": _iso(s.finished_at),
            "last_success_at": _iso(s.succeeded_at),
            "next_run_at": _iso(s.next_run_at),
            "running": s.lease_owner is not None,
            "records_applied": s.records,
            "pages": s.pages,
            "bad_records": s.bad_records,
            "records": dict(self.records),
            "entries": {k: dict(v) for k, v in self.entries.items()},
        }


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


class FeedService:
    """Feed flows over a store and the bank service (module docstring)."""

    def __init__(self, store: FeedStore, banks: BankService, clock: Clock) -> None:
        self.store = store
        self.banks = banks
        self.clock = clock

    def add(
        self,
        name: str,
        kind: str,
        *,
        owner: str,
        url: str = "",
        options: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        every_seconds: int = 3600,
        feedback: bool = False,
        quarantine: bool = True,
        guards: GuardConfig | None = None,
        label: str | None = None,
        trust: str = "review",
        thresholds: Mapping[str, int] | None = None,
    ) -> Feed:
        """A new feed filling a new bank called ``name`` (module docstring, steps 1-3)."""
        spec = self._spec(name, kind, url, options or {}, secrets or {}, every_seconds)
        spec = replace(
            spec, feedback=feedback, quarantine=quarantine, guards=guards or GuardConfig()
        )
        source = f"{kind} feed" + (f" ({url})" if url else "")
        self.banks.create_bank(
            name, owner=owner, source=source, label=label, trust=trust, thresholds=thresholds
        )
        return self.store.create_feed(spec, self.clock.now())

    def _spec(
        self,
        name: str,
        kind: str,
        url: str,
        options: Mapping[str, Any],
        secrets: Mapping[str, str],
        every_seconds: int,
    ) -> FeedSpec:
        try:
            feed_kind = FeedKind(kind)
        except ValueError:
            known = ", ".join(k.value for k in FeedKind)
            raise InvalidInput(f"feed kind {kind!r}: expected one of {known}") from None
        if feed_kind.value not in KINDS:
            raise InvalidInput(
                f"no {kind} client in this keepdown yet (a peer keepdown's feed: docs/exchanges.md)"
            )
        check_feed_config(feed_kind.value, options, secrets)
        if url and not url.startswith(("https://", "http://")):
            raise InvalidInput(f"feed url {url!r} must be an http(s) URL")
        _check_every(every_seconds)
        return FeedSpec(
            bank=name,
            kind=feed_kind,
            url=url,
            options=dict(options),
            secrets=check_secret_refs(secrets),
            every_seconds=every_seconds,
        )

    def details(self, name: str) -> FeedDetails:
        feed = self.store.get_feed(name)
        return FeedDetails(
            feed=feed,
            state=self.store.get_state(feed.id),
            records=self.store.counts(feed.id),
            entries=self.banks.store.entry_counts(feed.bank_id),
        )

    def list(self) -> list[FeedDetails]:
        return [self.details(feed.name) for feed in self.store.list_feeds()]

    def update(self, name: str, **changes: Any) -> Feed:
        """Change some settings; options and secrets are checked against the kind again."""
        unknown = set(changes) - CHANGEABLE
        if unknown:
            raise UsageError(f"a feed has no setting {', '.join(sorted(unknown))}")
        feed = self.store.get_feed(name)
        options = changes.get("options", feed.options)
        secrets = changes.get("secrets", feed.secrets)
        check_feed_config(str(feed.kind), options, secrets)
        if "secrets" in changes:
            changes["secrets"] = check_secret_refs(secrets)
        if "every_seconds" in changes:
            _check_every(int(changes["every_seconds"]))
        updated = self.store.update_feed(name, changes, self.clock.now())
        if "guards" in changes:
            self.store.restore_guarded(updated, self.clock.now())
        return updated

    def remove(self, name: str) -> None:
        """Forget the feed (its checkpoint and records); the bank and its entries stay."""
        self.store.delete_feed(name)

    def resync(self, name: str) -> Checkpoint:
        """Fetch everything again on the next run; what the exchange no longer has is then
        withdrawn (a full fetch of a new generation)."""
        feed = self.store.get_feed(name)
        checkpoint = self.store.get_state(feed.id).checkpoint.resync()
        self.store.set_checkpoint(feed.id, checkpoint, self.clock.now())
        return checkpoint

    def skip(self, name: str, seconds: int) -> Checkpoint:
        """Move a stalled feed past the time it cannot read: what changed at the exchange in
        those ``seconds`` is not fetched (a later resync brings it). Only a stalled feed."""
        feed = self.store.get_feed(name)
        state = self.store.get_state(feed.id)
        if state.status is not FeedStatus.STALLED:
            raise Conflict(f"feed {name} is {state.status}, not stalled: nothing to skip")
        if not 1 <= seconds <= 30 * 86400:
            raise InvalidInput("skip between 1 second and 30 days")
        run = state.checkpoint.run
        start = run.start if run is not None else state.checkpoint.since
        if start is None:  # stalled on its very first page: the position it starts from
            start = read_options(KINDS[str(feed.kind)].options, feed.options).get("start")
        if not isinstance(start, int):
            raise Conflict(f"feed {name}'s position is not a time; resync it instead")
        moved = replace(state.checkpoint, since=start + seconds, run=None)
        self.store.set_checkpoint(feed.id, moved, self.clock.now())
        self.store.set_status(feed.id, FeedStatus.IDLE, f"skipped {seconds} s at {start}")
        return moved

    def run_soon(self, name: str) -> Feed:
        """Make the feed due now (the next dispatch runs it)."""
        feed = self.store.get_feed(name)
        self.store.set_checkpoint(
            feed.id, self.store.get_state(feed.id).checkpoint, self.clock.now()
        )
        return feed


def _check_every(seconds: int) -> None:
    low, high = EVERY_RANGE
    if not low <= int(seconds) <= high:
        raise InvalidInput(f"a feed runs every {low} to {high} seconds, not {seconds}")
