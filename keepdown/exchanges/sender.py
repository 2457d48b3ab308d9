"""Send what the exchanges' outbox holds: feedback and submissions, each claimed, sent, settled.

:meth:`OutboxSender.send_due`, one pass:

1. recover rows whose sender died (``OutboxStore.recover``): idempotent messages go back to
   ``pending``, others become ``uncertain`` (:func:`keepdown.exchanges.writeback.idempotent`);
2. claim due rows one at a time under a lease and send each through its feed's client (one
   client per feed per pass, its secrets read from the environment when it is built). A
   submission is audited write-ahead: the ``exchange.submit`` record is written ``started``
   before the request and settled after it;
3. settle: ``sent`` (the version sent); a transient failure (a 503, a timeout) back to
   ``pending`` after an exponential back-off; a refusal (401, 400) or the last attempt
   ``failed``, visible with its error until an operator sends it again;
4. one event per message: :class:`~keepdown.events.FeedbackSent` or
   :class:`~keepdown.events.HashesSubmitted`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from keepdown.clock import Clock
from keepdown.errors import ExchangeError, KeepdownError
from keepdown.events import EventSink, FeedbackSent, HashesSubmitted
from keepdown.exchanges.feedback import deliver_feedback
from keepdown.exchanges.model import Feed
from keepdown.exchanges.outbox import OutboxItem, OutboxKind, OutboxStore
from keepdown.exchanges.sync import worker_name
from keepdown.exchanges.writeback import deliver_submission, idempotent

__all__ = ["Auditor", "OutboxSender", "SendReport"]

log = logging.getLogger("keepdown.exchanges")


class Auditor(Protocol):
    """Write-ahead audit (``keepdown.auth.AuthService`` has these two)."""

    def begin_audit(self, action: str, *, target: str = "", **details: Any) -> Any: ...

    def settle_audit(
        self, record: Any, error: BaseException | None = None, **details: Any
    ) -> None: ...


@dataclass
class SendReport:
    """What one pass did (ids of outbox rows)."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)


class OutboxSender:
    """Sends the exchanges' outbox (module docstring)."""

    def __init__(
        self,
        outbox: OutboxStore,
        feed_by_id: Callable[[int], Feed],
        events: EventSink,
        clock: Clock,
        make_client: Callable[[Feed], Any],
        *,
        auditor: Auditor | None = None,
        owner: str | None = None,
        lease_seconds: float = 120.0,
        max_attempts: int = 8,
        backoff_seconds: float = 60.0,
    ) -> None:
        self.outbox = outbox
        self.feed_by_id = feed_by_id
        self.events = events
        self.clock = clock
        self.make_client = make_client
        self.auditor = auditor
        self.owner = owner or worker_name()
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds

    def send_due(
        self,
        kinds: Sequence[OutboxKind] = (OutboxKind.FEEDBACK, OutboxKind.SUBMISSION),
        *,
        limit: int = 500,
    ) -> SendReport:
        report = SendReport()
        now = self.clock.now()
        recovered = self.outbox.recover(now, uncertain=lambda item: not idempotent(item))
        report.recovered = [item.id for item in recovered]
        clients: dict[int, Any] = {}
        try:
            for _ in range(limit):
                until = self.clock.now() + timedelta(seconds=self.lease_seconds)
                item = self.outbox.claim(self.clock.now(), self.owner, until, kinds=kinds)
                if item is None:
                    break
                self._one(item, clients, report)
        finally:
            for client in clients.values():
                client.close()
        return report

    def _one(self, item: OutboxItem, clients: dict[int, Any], report: SendReport) -> None:
        feed = self.feed_by_id(item.feed_id)
        audit = self._begin(item, feed)
        try:
            if item.feed_id not in clients:
                clients[item.feed_id] = self.make_client(feed)
            client = clients[item.feed_id]
            if item.kind is OutboxKind.FEEDBACK:
                deliver_feedback(str(feed.kind), client, item.message)
            else:
                deliver_submission(str(feed.kind), client, item.message)
        except KeepdownError as exc:
            self._settle_audit(audit, exc)
            self._failed(item, feed, exc, report)
            return
        self._settle_audit(audit, None)
        if self.outbox.settle_sent(item, self.owner, self.clock.now()):
            report.sent.append(item.id)
            self._event(item, feed, "sent", "")

    def _begin(self, item: OutboxItem, feed: Feed) -> Any:
        """The write-ahead audit record of a submission (None for feedback)."""
        if item.kind is not OutboxKind.SUBMISSION or self.auditor is None:
            return None
        record = self.auditor.begin_audit(
            "exchange.submit",
            target=f"{item.because.get('bank', '')} -> {feed.name}",
            exchange=str(feed.kind),
            count=len(item.message.get("items", [])),
            outbox=item.id,
            first_entry=item.because.get("first"),
            last_entry=item.because.get("last"),
        )
        if getattr(record, "id", None) is not None:
            self.outbox.set_audit(item.id, int(record.id))
        return record

    def _settle_audit(self, record: Any, error: BaseException | None) -> None:
        if record is not None and self.auditor is not None:
            self.auditor.settle_audit(record, error)

    def _failed(self, item: OutboxItem, feed: Feed, exc: KeepdownError, report: SendReport) -> None:
        now = self.clock.now()
        permanent = bool(exc.details.get("permanent")) or not isinstance(exc, ExchangeError)
        if permanent or item.attempts >= self.max_attempts:
            retry_at = None
            report.failed.append(item.id)
        else:
            wait = float(
                exc.details.get("retry_after") or self.backoff_seconds * 2 ** (item.attempts - 1)
            )
            retry_at = now + timedelta(seconds=wait)
            report.retrying.append(item.id)
        log.warning("%s %s to %s: %s", item.kind, item.id, feed.name, exc.message)
        self.outbox.settle_failed(item, self.owner, now, error=exc.message, retry_at=retry_at)
        if retry_at is None:
            self._event(item, feed, "failed", exc.message)

    def _event(self, item: OutboxItem, feed: Feed, outcome: str, error: str) -> None:
        at = self.clock.now()
        if item.kind is OutboxKind.FEEDBACK:
            self.events.emit(
                FeedbackSent(
                    at=at,
                    feed=feed.name,
                    exchange=str(feed.kind),
                    record_key=str(item.because.get("record", "")),
                    signal_type=str(item.because.get("signal_type", "")),
                    verdict="positive"
                    if item.message.get("positive", item.message.get("reaction") == "HELPFUL")
                    else "negative",
                    outcome=outcome,
                    decision_id=str(item.because.get("event", "")),
                    attempts=item.attempts,
                    error=error[:500],
                )
            )
        else:
            self.events.emit(
                HashesSubmitted(
                    at=at,
                    bank=str(item.because.get("bank", "")),
                    feed=feed.name,
                    exchange=str(feed.kind),
                    count=len(item.message.get("items", [])),
                    outcome=outcome,
                    error=error[:500],
                )
            )
