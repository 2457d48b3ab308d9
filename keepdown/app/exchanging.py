"""The exchanges' parts of a runtime (``Runtime.exchanges``): feeds, their runs, quarantines
and negative banks, as the entry points use them (``keepdown feed``; docs/exchanges.md).

The rules live in :mod:`keepdown.exchanges` (:class:`~keepdown.exchanges.service.FeedService`
for feeds, :class:`~keepdown.exchanges.sync.FeedSync` for a run); this module puts them on
this runtime's storage, clock and event log, and keeps the process's match index current
after a run that changed entries. The match-chain stages are ``Runtime.exchange_stages``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keepdown.errors import NotFound
from keepdown.events import QuarantineLifted
from keepdown.exchanges.clients import build_client
from keepdown.exchanges.feedback import FeedbackPlanner
from keepdown.exchanges.model import Feed
from keepdown.exchanges.negative import NegativeBank
from keepdown.exchanges.outbox import OutboxItem, OutboxState
from keepdown.exchanges.quarantine import Quarantine
from keepdown.exchanges.sender import OutboxSender
from keepdown.exchanges.service import FeedService
from keepdown.exchanges.sync import FeedSync, SyncLimits, SyncReport
from keepdown.exchanges.writeback import Publication, WriteBackPlanner
from keepdown.storage.exchange_outbox import SqlExchangeOutbox
from keepdown.storage.feed_store import SqlFeedStore
from keepdown.storage.publication_store import SqlDecisionSource, SqlPublicationStore
from keepdown.storage.quarantine_store import SqlNegativeStore, SqlQuarantineStore

if TYPE_CHECKING:
    from keepdown.app.runtime import Runtime

__all__ = ["ExchangeServices", "exchange_services"]


@dataclass
class ExchangeServices:
    """What the entry points ask of the exchanges (module docstring)."""

    runtime: Runtime
    store: SqlFeedStore
    feeds: FeedService
    quarantine_store: SqlQuarantineStore
    negative_store: SqlNegativeStore
    outbox: SqlExchangeOutbox
    publications: SqlPublicationStore

    # --- runs --------------------------------------------------------------------------------

    def run(
        self,
        name: str,
        *,
        environ: Mapping[str, str] | None = None,
        limits: SyncLimits | None = None,
    ) -> SyncReport:
        """Run the feed ``name`` once now (its lease, checkpoint and status as any run's)."""
        return self._sync(environ, limits).run(self.store.get_feed(name))

    def run_due(
        self, *, environ: Mapping[str, str] | None = None, limits: SyncLimits | None = None
    ) -> list[SyncReport]:
        """Run every enabled feed that is due and not held by another worker."""
        sync = self._sync(environ, limits)
        return [sync.run(feed) for feed in self.store.due_feeds(self.runtime.clock.now())]

    def _sync(self, environ: Mapping[str, str] | None, limits: SyncLimits | None) -> FeedSync:
        clock = self.runtime.clock

        def client(feed: Feed) -> Any:
            return build_client(feed, clock, environ=dict(environ) if environ else None)

        return FeedSync(
            self.store,
            self.runtime.storage.events,
            clock,
            client,
            limits=limits,
            on_applied=self._applied,
        )

    def _applied(self, _feed: Feed, _result: Any) -> None:
        """A page changed entries: this process's chain sees them at once (others at their
        next index refresh)."""
        if "matcher" in self.runtime._parts:
            self.runtime.matcher.refresh()

    # --- what goes out: feedback and write-back ----------------------------------------------

    def outbox_pass(self, *, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Plan the analysts' new verdicts as feedback and the published banks' new entries as
        submissions, then send what is due (docs/exchanges.md, "Feedback", "Write-back")."""
        clock = self.runtime.clock
        engine = self.runtime.storage.engine
        feedback = FeedbackPlanner(self.store, self.outbox, SqlDecisionSource(engine))
        planned = feedback.plan(clock.now())
        planned += WriteBackPlanner(self.publications, self.outbox).plan(clock.now())

        def client(feed: Feed) -> Any:
            return build_client(feed, clock, environ=dict(environ) if environ else None)

        sender = OutboxSender(
            self.outbox,
            self.store.get_feed_by_id,
            self.runtime.storage.events,
            clock,
            client,
            auditor=self.runtime.auth,
        )
        sent = sender.send_due()
        return {
            "planned": planned,
            "sent": sent.sent,
            "retrying": sent.retrying,
            "failed": sent.failed,
            "recovered": sent.recovered,
        }

    def outbox_items(self, states: Sequence[str] | None = None) -> list[OutboxItem]:
        return self.outbox.items(
            states=[OutboxState(s) for s in states] if states else None, limit=500
        )

    def resolve(self, item_id: int, *, delivered: bool) -> OutboxItem:
        """An operator's word on an uncertain or failed message: delivered, or send again."""
        return self.outbox.resolve(item_id, self.runtime.clock.now(), delivered=delivered)

    def publish(self, bank: str, feed: str, *, by: str, tags: Sequence[str] = ()) -> Publication:
        """Publish ``bank`` to the exchange ``feed`` connects to (the explicit opt-in)."""
        return self.publications.publish(bank, feed, by, tags, self.runtime.clock.now())

    def unpublish(self, bank: str, feed: str) -> Publication:
        return self.publications.stop(bank, feed, self.runtime.clock.now())

    # --- the defence ------------------------------------------------------------------------

    def quarantines(self, states: Sequence[str] | None = None) -> list[Quarantine]:
        return self.quarantine_store.quarantines(states=states)

    def lift(self, entry_id: int, *, by: str, note: str) -> Quarantine:
        """End an entry's quarantine: it acts again (a new burst quarantines it again)."""
        lifted = self.quarantine_store.lift(entry_id, by, note, self.runtime.clock.now())
        self.runtime.storage.events.emit(
            QuarantineLifted(
                at=self.runtime.clock.now(),
                bank=lifted.bank,
                entry_id=entry_id,
                analyst=by,
                outcome="lifted",
                note=note,
            )
        )
        self._refresh_defence()
        return lifted

    def negative_banks(self) -> list[NegativeBank]:
        return self.negative_store.negative_banks()

    def make_negative(self, bank: str, scope: Sequence[str], *, by: str) -> NegativeBank:
        """Turn ``bank`` into a negative bank silencing the banks (feeds) in ``scope``."""
        made = self.negative_store.make_negative(bank, scope, by, self.runtime.clock.now())
        self._refresh_defence()
        return made

    def _refresh_defence(self) -> None:
        if "exchange_stages" in self.runtime._parts:
            for stage in self.runtime.exchange_stages:
                stage.refresh()

    def feed(self, name: str) -> Feed:
        try:
            return self.store.get_feed(name)
        except NotFound:
            raise NotFound(f"no feed named {name!r} (keepdown feed list)") from None


def exchange_services(runtime: Runtime) -> ExchangeServices:
    """The exchanges' parts of ``runtime`` (built once: ``Runtime.exchanges``)."""
    store = SqlFeedStore(runtime.storage.engine, runtime.storage.banks)
    return ExchangeServices(
        runtime=runtime,
        store=store,
        feeds=FeedService(store, runtime.banks, runtime.clock),
        quarantine_store=SqlQuarantineStore(runtime.storage.engine),
        negative_store=SqlNegativeStore(runtime.storage.engine),
        outbox=SqlExchangeOutbox(runtime.storage.engine),
        publications=SqlPublicationStore(runtime.storage.engine),
    )
