"""Feedback: an analyst's review decision on a match becomes the exchange's feedback, once.

:class:`FeedbackPlanner` reads the review decisions (``review_decided`` events, in order,
from a cursor kept in the database) and, for a ``confirm`` or ``not_a_match`` on an entry of
a feed that sends feedback, plans one outbox row per exchange record carrying that entry and
signal type (:mod:`keepdown.exchanges.outbox`). The rows and the cursor move in one
transaction, so a decision is planned exactly once, whatever dies when. A later decision on
the same record changes the row's message (the exchange ends with the latest verdict); the
same verdict again changes nothing.

What each exchange is told (:func:`feedback_message`, :func:`deliver_feedback`):

- NCMEC: a vote on the fingerprint that matched, ``affirmative``, or ``negative`` with the
  feed's ``negative_reason`` (NCMEC's reason guid or name);
- StopNCII: the platform's feedback on the hash, ``Blocked`` (reviewed: it is the material)
  or ``NotBlocked`` (reviewed: it is not);
- ThreatExchange: a reaction to each descriptor of the indicator, ``HELPFUL`` or
  ``DISAGREE_WITH_TAGS``.

Each is a state at the exchange (a repeat leaves one), so an interrupted send is sent again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from keepdown.errors import ExchangeError
from keepdown.exchanges.clients.ncmec import FEEDBACK_TYPE
from keepdown.exchanges.model import Feed, FeedKind, FeedRecordView, FeedStore
from keepdown.exchanges.outbox import OutboxKind, OutboxStore, Planned
from keepdown.hashing.types import SignalType

__all__ = [
    "CURSOR",
    "DecisionSeen",
    "DecisionSource",
    "FeedbackPlanner",
    "deliver_feedback",
    "feedback_message",
]

#: The planner's cursor in ``exchange_cursors``: the last review event planned.
CURSOR = "feedback.review_decided"
#: Decisions that carry a verdict (escalate and skip do not).
VERDICTS = {"confirm": True, "not_a_match": False}


@dataclass(frozen=True)
class DecisionSeen:
    """One review decision, as the planner reads it."""

    position: int  # the event's id: decisions are read in this order
    sighting_id: str
    decision: str
    bank: str
    entry_id: int | None
    analyst: str
    at: datetime


class DecisionSource(Protocol):
    """Review decisions in the order they were taken (``keepdown.storage``)."""

    def decisions_after(self, position: int, limit: int) -> list[DecisionSeen]: ...


def feedback_message(
    feed: Feed, record: FeedRecordView, signal_type: str, positive: bool
) -> dict[str, Any] | None:
    """What tells ``feed``'s exchange our verdict on ``record`` (None: nothing it can take)."""
    kind = FeedKind(feed.kind)
    if kind is FeedKind.NCMEC:
        fingerprint = FEEDBACK_TYPE.get(SignalType(signal_type))
        member, entry = record.extra.get("member_id"), record.extra.get("entry_id")
        if fingerprint is None or not member or not entry:
            return None
        return {
            "member_id": str(member),
            "entry_id": str(entry),
            "fingerprint": fingerprint,
            "positive": positive,
        }
    if kind is FeedKind.STOPNCII:
        values = list(record.fingerprints.values())
        return {"hash_value": values[0], "positive": positive} if values else None
    if kind is FeedKind.THREATEXCHANGE:
        descriptors = [str(d) for d in record.extra.get("descriptors", [])]
        reaction = "HELPFUL" if positive else "DISAGREE_WITH_TAGS"
        return {"descriptors": descriptors, "reaction": reaction} if descriptors else None
    return None


def deliver_feedback(kind: str, client: Any, message: Mapping[str, Any]) -> None:
    """Send one planned message through the feed's client."""
    if kind == FeedKind.NCMEC:
        fingerprint = {v: k for k, v in FEEDBACK_TYPE.items()}[message["fingerprint"]]
        client.send_vote(
            message["member_id"],
            message["entry_id"],
            fingerprint,
            affirmative=bool(message["positive"]),
        )
    elif kind == FeedKind.STOPNCII:
        client.send_feedback([(message["hash_value"], bool(message["positive"]))])
    elif kind == FeedKind.THREATEXCHANGE:
        for descriptor in message["descriptors"]:
            client.react(descriptor, message["reaction"])
    else:
        raise ExchangeError(f"a {kind} feed takes no feedback", permanent=True)


class FeedbackPlanner:
    """Plans feedback from review decisions (module docstring)."""

    def __init__(self, feeds: FeedStore, outbox: OutboxStore, decisions: DecisionSource) -> None:
        self.feeds = feeds
        self.outbox = outbox
        self.decisions = decisions

    def plan(self, now: datetime, *, limit: int = 500) -> int:
        """Plan the decisions taken since the last call; how many rows changed."""
        changed = 0
        while True:
            position = self.outbox.cursor(CURSOR)
            seen = self.decisions.decisions_after(position, limit)
            if not seen:
                return changed
            planned = self._planned(seen)
            changed += self.outbox.record(
                planned, now, cursor=(CURSOR, position, seen[-1].position)
            )
            if len(seen) < limit:
                return changed

    def _planned(self, seen: Sequence[DecisionSeen]) -> list[Planned]:
        by_bank = {feed.bank: feed for feed in self.feeds.list_feeds() if feed.feedback}
        planned: list[Planned] = []
        for decision in seen:
            feed = by_bank.get(decision.bank)
            positive = VERDICTS.get(decision.decision)
            if feed is None or positive is None or decision.entry_id is None:
                continue
            found = self.feeds.entry_signal(decision.entry_id)
            if found is None:
                continue
            signal_type = found[0]
            for record in self.feeds.records(feed.id, entry_id=decision.entry_id, limit=100):
                message = feedback_message(feed, record, signal_type, positive)
                if message is None:
                    continue
                planned.append(
                    Planned(
                        kind=OutboxKind.FEEDBACK,
                        feed_id=feed.id,
                        target=f"{feed.id}:{record.id}:{signal_type}",
                        message={"exchange": str(feed.kind), **message},
                        because={
                            "record": record.key,
                            "signal_type": signal_type,
                            "decision": decision.decision,
                            "sighting_id": decision.sighting_id,
                            "analyst": decision.analyst,
                            "event": decision.position,
                            "at": decision.at.isoformat(),
                        },
                    )
                )
        return planned
